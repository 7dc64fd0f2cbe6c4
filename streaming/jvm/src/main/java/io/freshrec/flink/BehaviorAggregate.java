package io.freshrec.flink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;
import org.apache.flink.types.Row;

/**
 * A user's behaviour state as a Flink aggregate (GROUP BY user): the JVM port of streaming/state/user_state.py and
 * representation.py, which stay the reference (an integration test compares every user). Per event: insert in
 * event-time order (ties: arrival order) into the last N, drop a repeated event id, count the behaviour, pool the
 * item embedding into the interest vector; the version advances to max(previous + 1, event time). Late events are
 * filtered before this function (against the watermark), as the reference hands them back.
 */
@FunctionHint(
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = BehaviorAggregate.State.class),
        output = @DataTypeHint(
                "ROW<item_ids ARRAY<BIGINT>, category_ids ARRAY<BIGINT>, behaviors ARRAY<INT>, event_times ARRAY<BIGINT>,"
                        + " count_pv BIGINT, count_cart BIGINT, count_fav BIGINT, count_buy BIGINT,"
                        + " interest ARRAY<FLOAT>, top_categories ARRAY<BIGINT>, summary STRING, event_time BIGINT,"
                        + " version BIGINT>"))
public class BehaviorAggregate extends AggregateFunction<Row, BehaviorAggregate.State> {
    static final int SEQUENCE_LENGTH = 50;
    static final int SLOTS = 4;
    static final int DIM = 16;
    static final double[] BEHAVIOR_WEIGHTS = {1.0, 3.0, 2.0, 5.0};
    static final double DECAY_TAU_MS = 6 * 3_600_000.0;
    static final String[] BEHAVIOR_NAMES = {"pv", "cart", "fav", "buy"};
    static final String[] BEHAVIORS = {"PV", "CART", "FAV", "BUY"};
    static final long[] BUCKET_LIMITS = {60_000, 600_000, 3_600_000, 86_400_000};
    static final String[] BUCKET_LABELS = {"<1m", "<10m", "<1h", "<1d"};

    /** Keyed state of one user (Kryo-serialised by Flink: public fields, no-argument constructor). */
    public static class State {
        public List<long[]> events = new ArrayList<>(); // {time, arrival, item, category, behavior}
        public Map<String, Long> ids = new HashMap<>();
        public long[] counts = new long[4];
        public double[] sums = new double[SLOTS * DIM];
        public double[] weights = new double[SLOTS];
        public long tRef;
        public long newest;
        public long version;
        public long arrivals;
        /** The last getValue result until the next event: Flink asks for it before and after every accumulate. */
        public transient Row output;
    }

    @Override
    public State createAccumulator() {
        return new State();
    }

    public void accumulate(State s, String eventId, Long itemId, Long categoryId, String behavior, Long eventTime,
            Long boundMs) {
        if (s.ids.containsKey(eventId)) {
            return;
        }
        s.output = null;
        int b = behaviorCode(behavior);
        long time = eventTime;
        long[] event = {time, ++s.arrivals, itemId, categoryId, b};
        int at = s.events.size();
        while (at > 0 && compare(s.events.get(at - 1), event) > 0) {
            at--;
        }
        s.events.add(at, event);
        s.ids.put(eventId, time);
        s.counts[b]++;
        pool(s, embedding(itemId, categoryId), categoryId, b, time);
        s.newest = Math.max(s.newest, time);
        s.version = Math.max(s.version + 1, time);
        if (s.events.size() > SEQUENCE_LENGTH) {
            s.events.subList(0, s.events.size() - SEQUENCE_LENGTH).clear();
        }
        if (s.ids.size() > 2 * SEQUENCE_LENGTH) {
            long horizon = s.newest - boundMs;
            s.ids.values().removeIf(t -> t < horizon);
        }
    }

    @Override
    public Row getValue(State s) {
        if (s.output == null) {
            s.output = snapshot(s);
        }
        return s.output;
    }

    private static Row snapshot(State s) {
        int n = s.events.size();
        Long[] items = new Long[n];
        Long[] categories = new Long[n];
        Integer[] behaviors = new Integer[n];
        Long[] times = new Long[n];
        for (int i = 0; i < n; i++) {
            long[] e = s.events.get(i);
            times[i] = e[0];
            items[i] = e[2];
            categories[i] = e[3];
            behaviors[i] = (int) e[4];
        }
        Float[] interest = new Float[SLOTS * DIM];
        for (int slot = 0; slot < SLOTS; slot++) {
            for (int d = 0; d < DIM; d++) {
                double w = s.weights[slot];
                interest[slot * DIM + d] = w > 0 ? (float) (s.sums[slot * DIM + d] / w) : 0.0f;
            }
        }
        Long[] top = topCategories(categories, behaviors, times);
        return Row.of(items, categories, behaviors, times, s.counts[0], s.counts[1], s.counts[2], s.counts[3],
                interest, top, summary(s.counts, top, behaviors, times), s.newest, s.version);
    }

    private static int compare(long[] a, long[] b) {
        return a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]);
    }

    private static int behaviorCode(String behavior) {
        for (int i = 0; i < BEHAVIORS.length; i++) {
            if (BEHAVIORS[i].equals(behavior)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown behavior " + behavior); // DecodeClick never lets one through
    }

    private static void pool(State s, float[] embedding, long categoryId, int behavior, long time) {
        if (time > s.tRef) {
            double scale = s.tRef != 0 ? Math.exp((s.tRef - time) / DECAY_TAU_MS) : 0.0;
            for (int i = 0; i < s.sums.length; i++) {
                s.sums[i] *= scale;
            }
            for (int i = 0; i < SLOTS; i++) {
                s.weights[i] *= scale;
            }
            s.tRef = time;
        }
        double weight = BEHAVIOR_WEIGHTS[behavior] * Math.exp((time - s.tRef) / DECAY_TAU_MS);
        int slot = (int) Math.floorMod(categoryId, (long) SLOTS);
        for (int d = 0; d < DIM; d++) {
            s.sums[slot * DIM + d] += weight * embedding[d];
        }
        s.weights[slot] += weight;
    }

    /** HashedEmbeddings of representation.py: 0.7 x category direction + 0.3 x item direction, unit length. */
    static float[] embedding(long itemId, long categoryId) {
        double[] v = new double[DIM];
        double norm = 0;
        for (int k = 0; k < DIM; k++) {
            v[k] = 0.7 * direction(categoryId, 1, k) + 0.3 * direction(itemId, 2, k);
            norm += v[k] * v[k];
        }
        norm = Math.sqrt(norm);
        float[] out = new float[DIM];
        for (int k = 0; k < DIM; k++) {
            out[k] = (float) (v[k] / norm);
        }
        return out;
    }

    private static double direction(long id, int salt, int k) {
        long state = (id << 8) + ((long) salt << 4) + k;
        return unsignedToDouble(splitmix64(state)) / 9.223372036854775808E18 - 1.0;
    }

    static long splitmix64(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The uint64 value of x's bits, rounded to nearest as numpy's uint64 -> float64 cast does. */
    private static double unsignedToDouble(long x) {
        return x >= 0 ? (double) x : (double) ((x >>> 1) | (x & 1L)) * 2.0;
    }

    private static Long[] topCategories(Long[] categories, Integer[] behaviors, Long[] times) {
        if (categories.length == 0) {
            return new Long[0];
        }
        long newest = Long.MIN_VALUE;
        for (Long t : times) {
            newest = Math.max(newest, t);
        }
        TreeMap<Long, Double> score = new TreeMap<>();
        for (int i = 0; i < categories.length; i++) {
            double w = BEHAVIOR_WEIGHTS[behaviors[i]] * Math.exp((times[i] - newest) / DECAY_TAU_MS);
            score.merge(categories[i], w, Double::sum);
        }
        return score.entrySet().stream()
                .sorted((a, b) -> a.getValue().equals(b.getValue())
                        ? Long.compare(a.getKey(), b.getKey())
                        : Double.compare(b.getValue(), a.getValue()))
                .limit(8)
                .map(Map.Entry::getKey)
                .toArray(Long[]::new);
    }

    private static String summary(long[] counts, Long[] top, Integer[] behaviors, Long[] times) {
        List<String> totals = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            if (counts[i] != 0) {
                totals.add(BEHAVIOR_NAMES[i] + " " + counts[i]);
            }
        }
        List<String> cats = new ArrayList<>();
        for (int i = 0; i < Math.min(3, top.length); i++) {
            cats.add("c" + top[i]);
        }
        String text = String.join(" ", totals) + " | top " + String.join(", ", cats);
        int n = times.length;
        if (n > 1) {
            long gap = times[n - 1] - times[n - 2];
            String since = ">1d";
            for (int i = 0; i < BUCKET_LIMITS.length; i++) {
                if (gap < BUCKET_LIMITS[i]) {
                    since = BUCKET_LABELS[i];
                    break;
                }
            }
            text += " | prev " + since + " | last " + BEHAVIOR_NAMES[behaviors[n - 1]];
        } else if (n == 1) {
            text += " | last " + BEHAVIOR_NAMES[behaviors[0]];
        }
        return text.length() > 256 ? text.substring(0, 256) : text;
    }
}

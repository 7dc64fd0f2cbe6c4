package io.freshrec.flink;

import java.util.Arrays;

/**
 * One user's behaviour state: the JVM port of streaming/state/user_state.py and representation.py, which stay the
 * reference (an integration test compares every user). Per event: insert in event-time order (ties: arrival order)
 * into the last N, drop a repeated event id, count the behaviour, pool the item embedding into the interest vector;
 * the version advances to max(previous + 1, event time). A late event ({@link #isLate}) is never applied: the job
 * routes it to the dead letters, as the reference hands it back.
 *
 * <p>Lateness is judged against this state, not against a watermark: it depends on the user's own events alone, so it
 * is the same whatever the partitioning, the parallelism or the other users' records, and it survives a restore with
 * the state (a watermark starts again from nothing). The ids remembered for dedup are exactly those of events that
 * could still be applied (within boundMs of the newest): an older duplicate is late, so it is never applied twice,
 * also when a restarted job or a re-replay reads a record again.
 *
 * <p>Flink keeps it as keyed state, primitive arrays and scalars: an event mutates it in place on the heap backend,
 * and the copy-on-write copy after a checkpoint and the checkpoint itself are bulk array copies
 * ({@link UserBehaviorSerializer}), not a walk over boxed objects. Event ids are remembered as 64-bit hashes (a false duplicate
 * needs two of one user's ~100 remembered ids to collide: about 1 in 10^15 per user).
 */
public class UserBehavior {
    static final int SEQUENCE_LENGTH = 50;
    static final int SLOTS = 4;
    static final int DIM = 16;
    static final double[] BEHAVIOR_WEIGHTS = {1.0, 3.0, 2.0, 5.0};
    static final double DECAY_TAU_MS = 6 * 3_600_000.0;
    static final String[] BEHAVIOR_NAMES = {"pv", "cart", "fav", "buy"};
    static final long[] BUCKET_LIMITS = {60_000, 600_000, 3_600_000, 86_400_000};
    static final String[] BUCKET_LABELS = {"<1m", "<10m", "<1h", "<1d"};

    /** The last events in (event time, arrival) order: `size` of them, columns of capacity >= size. */
    public int size;
    public long[] times = new long[0];
    public long[] items = new long[0];
    public long[] categories = new long[0];
    public byte[] behaviors = new byte[0];
    /** Hashes and event times of the applied event ids still within reach of a duplicate: `idCount` of them. */
    public int idCount;
    public long[] idHashes = new long[0];
    public long[] idTimes = new long[0];
    public long[] counts = new long[4];
    public double[] sums = new double[SLOTS * DIM];
    public double[] weights = new double[SLOTS];
    public long tRef;
    public long newest;
    public long version;
    /** Applied events not yet in an emitted snapshot (a flush timer is pending). */
    public boolean dirty;
    /** Processing time of the last snapshot, and of the pending expiry timer (0: none; state TTL off). */
    public long lastSnapshot;
    public long expiresAt;

    /** Whether an event at `eventTime` is late: more than `boundMs` behind the newest event applied. */
    public boolean isLate(long eventTime, long boundMs) {
        return eventTime < newest - boundMs;
    }

    /** Applies one on-time click; false when its event id was already applied (a duplicate, ignored). */
    public boolean apply(Click c, long boundMs) {
        long idHash = hash(c.eventId);
        for (int i = 0; i < idCount; i++) {
            if (idHashes[i] == idHash) {
                return false;
            }
        }
        long time = c.eventTime;
        int at = size;
        while (at > 0 && times[at - 1] > time) { // ties keep arrival order: the new event goes last
            at--;
        }
        insert(at, time, c.itemId, c.categoryId, (byte) c.behavior);
        remember(idHash, time);
        counts[c.behavior]++;
        pool(embedding(c.itemId, c.categoryId), c.categoryId, c.behavior, time);
        newest = Math.max(newest, time);
        version = Math.max(version + 1, time);
        if (idCount > 2 * SEQUENCE_LENGTH) {
            forget(newest - boundMs);
        }
        return true;
    }

    private void insert(int at, long time, long item, long category, byte behavior) {
        if (size == times.length && size < SEQUENCE_LENGTH + 1) {
            int capacity = Math.min(SEQUENCE_LENGTH + 1, Math.max(4, 2 * size));
            times = Arrays.copyOf(times, capacity);
            items = Arrays.copyOf(items, capacity);
            categories = Arrays.copyOf(categories, capacity);
            behaviors = Arrays.copyOf(behaviors, capacity);
        }
        int tail = size - at;
        System.arraycopy(times, at, times, at + 1, tail);
        System.arraycopy(items, at, items, at + 1, tail);
        System.arraycopy(categories, at, categories, at + 1, tail);
        System.arraycopy(behaviors, at, behaviors, at + 1, tail);
        times[at] = time;
        items[at] = item;
        categories[at] = category;
        behaviors[at] = behavior;
        if (++size > SEQUENCE_LENGTH) { // drop the oldest
            size--;
            System.arraycopy(times, 1, times, 0, size);
            System.arraycopy(items, 1, items, 0, size);
            System.arraycopy(categories, 1, categories, 0, size);
            System.arraycopy(behaviors, 1, behaviors, 0, size);
        }
    }

    private void remember(long idHash, long time) {
        if (idCount == idHashes.length) {
            int capacity = Math.max(4, 2 * idCount);
            idHashes = Arrays.copyOf(idHashes, capacity);
            idTimes = Arrays.copyOf(idTimes, capacity);
        }
        idHashes[idCount] = idHash;
        idTimes[idCount++] = time;
    }

    /** Drops the ids of events older than `horizon`: a duplicate of one of them would be late, never applied. */
    private void forget(long horizon) {
        int kept = 0;
        for (int i = 0; i < idCount; i++) {
            if (idTimes[i] >= horizon) {
                idHashes[kept] = idHashes[i];
                idTimes[kept++] = idTimes[i];
            }
        }
        idCount = kept;
    }

    /** 64-bit hash of an event id (its UTF-16 units through splitmix64). */
    static long hash(String eventId) {
        long h = 0x243F6A8885A308D3L ^ eventId.length();
        for (int i = 0; i < eventId.length(); i++) {
            h = splitmix64(h ^ eventId.charAt(i));
        }
        return h;
    }

    /**
     * The snapshot message (schemas/avro/user_snapshot.v1.avsc) in Avro single-object encoding, its fields in the
     * schema's order ({@link SnapshotField}), written directly: no row conversion, no Avro library per snapshot.
     */
    public byte[] toAvro(long userId) {
        int n = size;
        long[] top = topCategories();
        AvroWriter out = new AvroWriter(SnapshotField.FINGERPRINT, 64 + 30 * n + 4 * SLOTS * DIM + 512).varlong(userId);
        for (SnapshotField field : SnapshotField.ORDER) {
            switch (field) {
                case ITEM_IDS -> out.longs(items, n);
                case CATEGORY_IDS -> out.longs(categories, n);
                case BEHAVIORS -> {
                    if (n > 0) {
                        out.varlong(n);
                        for (int i = 0; i < n; i++) {
                            out.varlong(behaviors[i]);
                        }
                    }
                    out.varlong(0);
                }
                case EVENT_TIMES -> out.longs(times, n);
                case COUNT_PV -> out.varlong(counts[0]);
                case COUNT_CART -> out.varlong(counts[1]);
                case COUNT_FAV -> out.varlong(counts[2]);
                case COUNT_BUY -> out.varlong(counts[3]);
                case INTEREST -> {
                    out.varlong(SLOTS * DIM);
                    for (int i = 0; i < SLOTS * DIM; i++) {
                        double w = weights[i / DIM];
                        out.float32(w > 0 ? (float) (sums[i] / w) : 0.0f);
                    }
                    out.varlong(0);
                }
                case TOP_CATEGORIES -> out.longs(top, top.length);
                case SUMMARY -> out.string(summary(top));
                case EVENT_TIME -> out.varlong(newest);
                case VERSION -> out.varlong(version);
            }
        }
        return out.toByteArray();
    }

    private void pool(float[] embedding, long categoryId, int behavior, long time) {
        if (time > tRef) {
            double scale = tRef != 0 ? Math.exp((tRef - time) / DECAY_TAU_MS) : 0.0;
            for (int i = 0; i < sums.length; i++) {
                sums[i] *= scale;
            }
            for (int i = 0; i < SLOTS; i++) {
                weights[i] *= scale;
            }
            tRef = time;
        }
        double weight = BEHAVIOR_WEIGHTS[behavior] * Math.exp((time - tRef) / DECAY_TAU_MS);
        int slot = (int) Math.floorMod(categoryId, (long) SLOTS);
        for (int d = 0; d < DIM; d++) {
            sums[slot * DIM + d] += weight * embedding[d];
        }
        weights[slot] += weight;
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

    /** Up to 8 categories by decayed, behaviour-weighted score over the sequence (ties: smaller id first). */
    private long[] topCategories() {
        if (size == 0) {
            return new long[0];
        }
        long newestTime = Long.MIN_VALUE;
        for (int i = 0; i < size; i++) {
            newestTime = Math.max(newestTime, times[i]);
        }
        long[] ids = new long[size];
        double[] scores = new double[size];
        int distinct = 0;
        for (int i = 0; i < size; i++) {
            double w = BEHAVIOR_WEIGHTS[behaviors[i]] * Math.exp((times[i] - newestTime) / DECAY_TAU_MS);
            int j = 0;
            while (j < distinct && ids[j] != categories[i]) {
                j++;
            }
            if (j == distinct) {
                ids[distinct++] = categories[i];
            }
            scores[j] += w;
        }
        long[] top = new long[Math.min(8, distinct)];
        for (int k = 0; k < top.length; k++) { // selection of the best 8: no boxing, no sort of the rest
            int best = k;
            for (int j = k + 1; j < distinct; j++) {
                int byScore = Double.compare(scores[j], scores[best]);
                if (byScore > 0 || byScore == 0 && ids[j] < ids[best]) {
                    best = j;
                }
            }
            top[k] = ids[best];
            ids[best] = ids[k];
            scores[best] = scores[k];
        }
        return top;
    }

    private String summary(long[] top) {
        StringBuilder text = new StringBuilder(96);
        for (int i = 0; i < 4; i++) {
            if (counts[i] != 0) {
                text.append(text.length() == 0 ? "" : " ").append(BEHAVIOR_NAMES[i]).append(' ').append(counts[i]);
            }
        }
        text.append(" | top ");
        for (int i = 0; i < Math.min(3, top.length); i++) {
            text.append(i == 0 ? "c" : ", c").append(top[i]);
        }
        int n = size;
        if (n > 1) {
            long gap = times[n - 1] - times[n - 2];
            String since = ">1d";
            for (int i = 0; i < BUCKET_LIMITS.length; i++) {
                if (gap < BUCKET_LIMITS[i]) {
                    since = BUCKET_LABELS[i];
                    break;
                }
            }
            text.append(" | prev ").append(since).append(" | last ").append(BEHAVIOR_NAMES[behaviors[n - 1]]);
        } else if (n == 1) {
            text.append(" | last ").append(BEHAVIOR_NAMES[behaviors[0]]);
        }
        return text.length() > 256 ? text.substring(0, 256) : text.toString();
    }
}

package io.freshrec.flink;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Keyed by user: applies each on-time click to the user's {@link UserBehavior}, routes a late one (more than boundMs
 * behind the user's newest event, {@link UserBehavior#isLate}) to the dead letters whole, and emits the user's snapshot on a
 * processing-time timer set by the first click after the last snapshot, so a busy user's clicks coalesce into one
 * snapshot per interval. The interval is flushMs for live traffic, and catchUpMs for a click that is already more
 * than catchUpMs behind (processing time - event time: a backlog, a burst beyond what the sinks absorb): a job that
 * is behind coalesces more, never adding more delay than the click already has, so it writes fewer, fuller
 * snapshots and catches up instead of falling further behind. The pending timer and the dirty flag are keyed state,
 * so a restore from a checkpoint still emits what was pending.
 *
 * <p>With stateTtlS > 0 a user's state is dropped once that long has passed without an applied click (processing
 * time): the job holds the active users, and a user back after it starts afresh (nothing of theirs is late then,
 * and their next snapshot replaces the stored one). Idleness counts from the user's last snapshot, which follows
 * every applied click within catchUpMs: the flush timer that runs anyway keeps the time, so a click pays nothing
 * for the TTL (Flink's state TTL re-times the value on every write). Each user has at most one expiry timer, set at
 * the first snapshot and moved on, when it fires, to the last snapshot plus the TTL.
 *
 * <p>A bounded input ends before its last processing-time timers fire (Flink drops them when a task finishes), but
 * its final watermark fires every event-time timer: the {@link #END_OF_INPUT} timer flushes what is pending then.
 * Only a bounded job sets it: an unbounded one gets no final watermark (a stop keeps the pending flush timers in its
 * savepoint), and a timer per user that never fires would be written out by every checkpoint.
 */
public class UserSnapshots extends KeyedProcessFunction<Long, Click, KafkaRecord> {
    /** Every click applied to its user's state (not late, not a duplicate): the rows of the event log. */
    static final OutputTag<Click> APPLIED = new OutputTag<>("applied") {};
    static final long END_OF_INPUT = Long.MAX_VALUE - 1;
    private final String clicksTopic;
    private final long boundMs;
    private final long flushMs;
    private final long catchUpMs;
    private final long stateTtlMs;
    private final boolean bounded;
    private transient ValueState<UserBehavior> state;
    private transient JobMetrics metrics;
    private transient Counter applied;
    private transient Counter duplicates;
    private transient Counter snapshots;
    private transient Counter expired;
    private transient JobMetrics.LagGauge lag;

    public UserSnapshots(String clicksTopic, long boundMs, long flushMs, long catchUpMs, long stateTtlS,
            boolean bounded) {
        this.clicksTopic = clicksTopic;
        this.boundMs = boundMs;
        this.flushMs = flushMs;
        this.catchUpMs = Math.max(flushMs, catchUpMs);
        this.stateTtlMs = stateTtlS * 1000;
        this.bounded = bounded;
    }

    @Override
    public void open(OpenContext context) {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("user", UserBehaviorSerializer.INSTANCE));
        metrics = new JobMetrics(getRuntimeContext().getMetricGroup());
        applied = metrics.counter("clicksApplied");
        duplicates = metrics.counter("clicksDuplicate");
        snapshots = metrics.counter("snapshots");
        expired = metrics.counter("usersExpired");
        lag = metrics.lag("appliedLagMs");
    }

    @Override
    public void processElement(Click click, Context ctx, Collector<KafkaRecord> out) throws Exception {
        UserBehavior user = state.value();
        if (user == null) {
            user = new UserBehavior();
        }
        if (user.isLate(click.eventTime, boundMs)) {
            String reason = "Late: event time " + Instant.ofEpochMilli(click.eventTime) + " is more than " + boundMs
                    + " ms behind the user's newest event " + Instant.ofEpochMilli(user.newest);
            ctx.output(RouteClicks.DEAD_LETTERS, RouteClicks.deadLetter(metrics, clicksTopic, click.partition,
                    click.offset, click.key, click.payload, reason));
            return;
        }
        if (!user.apply(click, boundMs)) {
            duplicates.inc();
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        applied.inc();
        lag.set(click.eventTime, now);
        ctx.output(APPLIED, click);
        if (flushMs <= 0) {
            out.collect(snapshot(click.userId, user));
            expireAfter(now, user, ctx.timerService());
        } else if (!user.dirty) {
            user.dirty = true;
            long delay = now - click.eventTime > catchUpMs ? catchUpMs : flushMs;
            ctx.timerService().registerProcessingTimeTimer(now + delay);
            if (bounded) {
                ctx.timerService().registerEventTimeTimer(END_OF_INPUT);
            }
        }
        state.update(user);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<KafkaRecord> out) throws Exception {
        UserBehavior user = state.value();
        if (user == null) {
            return;
        }
        boolean processingTime = ctx.timeDomain() == TimeDomain.PROCESSING_TIME;
        if (user.dirty) { // a flush timer (or an expiry timer at the same instant: Flink keeps one of the two)
            user.dirty = false;
            out.collect(snapshot(ctx.getCurrentKey(), user));
            if (processingTime) {
                if (timestamp >= user.expiresAt) { // this was (also) the expiry timer: set a new one
                    user.expiresAt = 0;
                }
                expireAfter(timestamp, user, ctx.timerService());
            }
        } else if (processingTime && user.expiresAt != 0 && timestamp >= user.expiresAt) {
            if (timestamp - user.lastSnapshot >= stateTtlMs) {
                expired.inc();
                state.clear();
                return;
            }
            user.expiresAt = user.lastSnapshot + stateTtlMs;
            ctx.timerService().registerProcessingTimeTimer(user.expiresAt);
        } else {
            return;
        }
        state.update(user);
    }

    /** Notes a snapshot at `now` for the TTL; the user's one expiry timer is set if it has none. */
    private void expireAfter(long now, UserBehavior user, TimerService timers) {
        if (stateTtlMs > 0) {
            user.lastSnapshot = now;
            if (user.expiresAt == 0) {
                user.expiresAt = now + stateTtlMs;
                timers.registerProcessingTimeTimer(user.expiresAt);
            }
        }
    }

    private KafkaRecord snapshot(long userId, UserBehavior user) {
        snapshots.inc();
        return KafkaRecord.of(("{\"user_id\":" + userId + "}").getBytes(StandardCharsets.UTF_8), user.toAvro(userId));
    }
}

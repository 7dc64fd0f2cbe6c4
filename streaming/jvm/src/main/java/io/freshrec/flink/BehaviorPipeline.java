package io.freshrec.flink;

import java.util.Map;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The behavior job's dataflow, added to an environment that PyFlink builds and submits (streaming/jobs/behavior_job.py):
 * clicks (Kafka) -> {@link RouteClicks} (decode, key and event-time checks) -> keyed by user -> {@link UserSnapshots}
 * (lateness against the user's state, state, coalesced snapshots) -> user-snapshots; both operators' dead letters ->
 * clicks-dlq; with an event log folder, the applied clicks -> its part files ({@link EventLog}). Lateness needs no
 * watermark (see {@link UserBehavior}), so the source assigns none; a bounded input's end still sends the final one
 * that flushes pending snapshots. Every operator has a fixed uid, so a new submission restores a checkpoint of an
 * earlier one.
 */
public final class BehaviorPipeline {
    private BehaviorPipeline() {}

    public static void build(StreamExecutionEnvironment env, Map<String, String> options) {
        JobOptions o = JobOptions.of(options);
        SingleOutputStreamOperator<Click> clicks = env
                .fromSource(KafkaRecords.source(o.bootstrap, o.kafka, o.clicksTopic, o.group, o.bounded),
                        WatermarkStrategy.noWatermarks(), "clicks")
                .uid("clicks-source")
                .process(new RouteClicks(o.maxAheadMs))
                .uid("route-clicks")
                .name("decode, key and event-time checks");
        SingleOutputStreamOperator<KafkaRecord> snapshots = clicks.keyBy(new ByUser())
                .process(new UserSnapshots(o.clicksTopic, o.outOfOrdernessMs, o.flushMs, o.catchUpMs, o.stateTtlS,
                        o.bounded))
                .uid("user-state")
                .name("lateness, user state, coalesced snapshots");
        snapshots.sinkTo(KafkaRecords.sink(o.bootstrap, o.kafka, o.snapshotTopic, o.deadLetterMaxBytes))
                .uid("snapshot-sink")
                .disableChaining() // the producer's send in a thread of its own, beside the state's
                .name("user-snapshots");
        clicks.getSideOutput(RouteClicks.DEAD_LETTERS)
                .union(snapshots.getSideOutput(RouteClicks.DEAD_LETTERS))
                .sinkTo(KafkaRecords.sink(o.bootstrap, o.kafka, o.deadLetterTopic, o.deadLetterMaxBytes))
                .uid("dead-letter-sink")
                .name("clicks-dlq");
        if (!o.eventLogDir.isEmpty()) {
            snapshots.getSideOutput(UserSnapshots.APPLIED)
                    .sinkTo(EventLog.sink(o.eventLogDir, o.eventLogRollMs))
                    .uid("event-log-sink")
                    .name("event log");
        }
    }

    static final class ByUser implements KeySelector<Click, Long> {
        @Override
        public Long getKey(Click click) {
            return click.userId;
        }
    }
}

package io.freshrec.flink;


import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The behavior job's dataflow, added to an environment that PyFlink builds and submits (streaming/jobs/behavior_job.py):
 * clicks (Kafka, per-partition watermarks) -> {@link RouteClicks} (decode, dead letters, lateness) -> keyed by user
 * -> {@link UserSnapshots} (state, coalesced snapshots) -> user-snapshots; dead letters -> clicks-dlq. Every operator
 * has a fixed uid, so a new submission restores a checkpoint of an earlier one.
 */
public final class BehaviorPipeline {
    private BehaviorPipeline() {}

    public static void build(StreamExecutionEnvironment env, String bootstrap, String clicksTopic, String group,
            String deadLetterTopic, String snapshotTopic, long boundMs, boolean watermarkOnEvent, long flushMs,
            long catchUpMs, boolean bounded) {
        WatermarkStrategy<KafkaRecord> watermarks = WatermarkStrategy
                .<KafkaRecord>forGenerator(ctx -> new BoundedLateness<>(boundMs, watermarkOnEvent))
                .withTimestampAssigner((record, previous) -> ClickTime.of(record.value));
        SingleOutputStreamOperator<Click> clicks = env
                .fromSource(KafkaRecords.source(bootstrap, clicksTopic, group, bounded), watermarks, "clicks")
                .uid("clicks-source")
                .process(new RouteClicks())
                .uid("route-clicks")
                .name("decode, dead letters, lateness");
        clicks.getSideOutput(RouteClicks.DEAD_LETTERS)
                .sinkTo(KafkaRecords.sink(bootstrap, deadLetterTopic))
                .uid("dead-letter-sink")
                .name("clicks-dlq");
        clicks.keyBy(new ByUser())
                .process(new UserSnapshots(boundMs, flushMs, catchUpMs))
                .uid("user-state")
                .name("user state, coalesced snapshots")
                .sinkTo(KafkaRecords.sink(bootstrap, snapshotTopic))
                .uid("snapshot-sink")
                .disableChaining() // the producer's send in a thread of its own, beside the state's
                .name("user-snapshots");
    }

    static final class ByUser implements KeySelector<Click, Long> {
        @Override
        public Long getKey(Click click) {
            return click.userId;
        }
    }
}

package io.freshrec.flink;

import java.time.Instant;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes every clicks record right after the source: valid, on-time clicks go on to their user's state; undecodable
 * or invalid records and events behind the watermark go to {@link #DEAD_LETTERS} with the reason, whole (topic,
 * partition, offset, key, payload), so nothing is dropped silently and nothing else is held up.
 */
public class RouteClicks extends ProcessFunction<KafkaRecord, Click> {
    static final OutputTag<KafkaRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    @Override
    public void processElement(KafkaRecord record, Context ctx, Collector<Click> out) {
        String reason;
        try {
            Click click = DecodeClick.decode(record.value);
            long watermark = ctx.timerService().currentWatermark();
            if (click.eventTime >= watermark) {
                out.collect(click);
                return;
            }
            reason = "Late: event time " + Instant.ofEpochMilli(click.eventTime) + " is behind the watermark "
                    + Instant.ofEpochMilli(watermark);
        } catch (DecodeClick.InvalidRecord e) {
            reason = e.getMessage();
        }
        byte[] letter = DeadLetters.encode(record.topic, record.partition, record.offset, record.key,
                record.value, reason, System.currentTimeMillis());
        ctx.output(DEAD_LETTERS, KafkaRecord.of(record.key, letter));
    }
}

package io.freshrec.flink;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and checks every clicks record right after the source. Valid clicks go on to their user's state; anything
 * else goes to {@link #DEAD_LETTERS} with the reason, whole (topic, partition, offset, key, payload), so nothing is
 * dropped silently and nothing else is held up. Checked here, statelessly: the record decodes as a click_event, its
 * Kafka key (when it has one) is its user id in decimal, and its event time is at most maxAheadMs ahead of processing
 * time (one click dated years ahead would otherwise make every later click of its user late). A rejected record
 * never reaches any state, so it cannot change how another record is judged.
 */
public class RouteClicks extends ProcessFunction<KafkaRecord, Click> {
    static final OutputTag<KafkaRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") {};
    private final long maxAheadMs;
    private transient JobMetrics metrics;

    public RouteClicks(long maxAheadMs) {
        this.maxAheadMs = maxAheadMs;
    }

    @Override
    public void open(OpenContext context) {
        metrics = new JobMetrics(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement(KafkaRecord record, Context ctx, Collector<Click> out) {
        String reason;
        try {
            Click click = DecodeClick.decode(record.value);
            long now = ctx.timerService().currentProcessingTime();
            if (record.key != null && !isDecimal(record.key, click.userId)) {
                reason = "KeyMismatch: Kafka key '"
                        + new String(record.key, 0, Math.min(record.key.length, 64), StandardCharsets.UTF_8)
                        + "' is not the event's user_id " + click.userId;
            } else if (click.eventTime - now > maxAheadMs) {
                reason = "FutureEvent: event time " + Instant.ofEpochMilli(click.eventTime) + " is more than "
                        + maxAheadMs + " ms ahead of processing time " + Instant.ofEpochMilli(now);
            } else {
                out.collect(click.from(record));
                return;
            }
        } catch (DecodeClick.InvalidRecord e) {
            reason = e.getMessage();
        }
        ctx.output(DEAD_LETTERS, deadLetter(metrics, record.topic, record.partition, record.offset, record.key,
                record.value, reason));
    }

    /** A dead letter of the record, counted in `metrics` under its kind: every letter the job makes is counted. */
    static KafkaRecord deadLetter(JobMetrics metrics, String topic, int partition, long offset, byte[] key,
            byte[] payload, String reason) {
        metrics.deadLetter(reason);
        byte[] letter = DeadLetters.encode(topic, partition, offset, key, payload, reason, System.currentTimeMillis());
        return KafkaRecord.of(key, letter);
    }

    /** Whether `key` is `value` written in decimal ASCII, the producers' key (streaming/replay.py). */
    static boolean isDecimal(byte[] key, long value) {
        return Arrays.equals(key, Long.toString(value).getBytes(StandardCharsets.US_ASCII));
    }
}

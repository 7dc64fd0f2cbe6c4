package io.freshrec.flink;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;

/**
 * The clicks' watermark: the newest event time seen minus the bound (exactly, as Flink SQL's
 * `WATERMARK FOR t AS t - INTERVAL ...`; the DataStream built-in subtracts one more millisecond), per Kafka
 * partition, emitted periodically or after every record. Time 0 (an unreadable record) never moves it.
 */
public class BoundedLateness<T> implements WatermarkGenerator<T> {
    private final long boundMs;
    private final boolean onEvent;
    private long newest = Long.MIN_VALUE;

    public BoundedLateness(long boundMs, boolean onEvent) {
        this.boundMs = boundMs;
        this.onEvent = onEvent;
    }

    @Override
    public void onEvent(T event, long timestamp, WatermarkOutput output) {
        if (timestamp > newest) {
            newest = timestamp;
            if (onEvent) {
                onPeriodicEmit(output);
            }
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        if (newest != Long.MIN_VALUE) {
            output.emitWatermark(new Watermark(newest - boundMs));
        }
    }
}

package io.freshrec.flink;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * The event time of a ClickEvent without decoding the rest: the job's event-time attribute (and its watermark) is
 * computed for every record in several places of the plan, so it must cost a few varint reads, not a full decode.
 * Null when the record is not a readable click_event (DecodeClick then says why).
 */
public class ClickTime extends ScalarFunction {
    public Long eval(byte[] payload) {
        long time = of(payload);
        return time > 0 ? time : null;
    }

    /** The event time, or 0 when there is none to read (0 never moves a watermark). */
    static long of(byte[] payload) {
        if (payload == null || payload.length < 10 || (payload[0] & 0xFF) != 0xC3 || payload[1] != 0x01
                || !DecodeClick.knownFingerprint(payload)) {
            return 0;
        }
        DecodeClick.Reader in = new DecodeClick.Reader(payload, 10);
        try {
            in.skipString(); // event_id
            in.varlong(); // user_id
            in.varlong(); // item_id
            in.varlong(); // category_id
            in.varlong(); // behavior
            long eventTime = in.varlong();
            return Math.max(eventTime, 0);
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }
}

package io.freshrec.flink;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * The event time of a ClickEvent without decoding the rest: the job's event-time attribute (and its watermark) is
 * computed for every record in several places of the plan, so it must cost a few varint reads, not a full decode.
 * Null when the record is not a readable click_event (DecodeClick then says why).
 */
public class ClickTime extends ScalarFunction {
    public Long eval(byte[] payload) {
        if (payload == null || payload.length < 10 || (payload[0] & 0xFF) != 0xC3 || payload[1] != 0x01
                || !DecodeClick.knownFingerprint(payload)) {
            return null;
        }
        DecodeClick.Reader in = new DecodeClick.Reader(payload, 10);
        try {
            in.skipString(); // event_id
            in.varlong(); // user_id
            in.varlong(); // item_id
            in.varlong(); // category_id
            in.varlong(); // behavior
            long eventTime = in.varlong();
            return eventTime > 0 ? eventTime : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}

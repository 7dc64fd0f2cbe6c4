package io.freshrec.flink;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Arrays;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

/**
 * Decodes a ClickEvent (Avro single-object encoding: C3 01, the writer schema's CRC-64-AVRO fingerprint, the body)
 * in the JVM, so no Python call happens per event. Never throws: an undecodable or invalid record comes back with
 * `error` set (the job routes those to clicks-dlq with the reason) and every other field null.
 *
 * <p>The accepted fingerprints are those of schemas/avro/click_event.v*.avsc; a unit test on the Python side checks
 * {@link #FINGERPRINTS} against them, so a new schema version cannot ship without this decoder knowing it.
 */
public class DecodeClick extends ScalarFunction {
    /** click_event.v1 */
    static final byte[][] FINGERPRINTS = {AvroWriter.hex("271892ef4aea09fa")};

    static final String[] BEHAVIORS = {"PV", "CART", "FAV", "BUY"};

    /**
     * Declared non-deterministic so the planner computes the decoded row once per record: for a deterministic
     * function it inlines the call into every field access (six decodes per record in the job's plan).
     */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    @DataTypeHint(
            "ROW<event_id STRING, user_id BIGINT, item_id BIGINT, category_id BIGINT, behavior STRING,"
                    + " event_time BIGINT, error STRING>")
    public Row eval(byte[] payload) {
        try {
            Click c = decode(payload);
            return Row.of(c.eventId, c.userId, c.itemId, c.categoryId, BEHAVIORS[c.behavior], c.eventTime, null);
        } catch (InvalidRecord e) {
            return Row.of(null, null, null, null, null, null, e.getMessage());
        }
    }

    /** The click in `payload`, or why it is not one ("DecodeError: ...", "InvalidField: ...", ...). */
    static Click decode(byte[] payload) throws InvalidRecord {
        if (payload == null) {
            throw new InvalidRecord("DecodeError: null payload");
        }
        if (payload.length < 10 || (payload[0] & 0xFF) != 0xC3 || payload[1] != 0x01) {
            throw new InvalidRecord("DecodeError: not an Avro single-object message (bad or missing C3 01 header)");
        }
        if (!knownFingerprint(payload)) {
            byte[] fingerprint = Arrays.copyOfRange(payload, 2, 10);
            throw new InvalidRecord("UnknownSchemaFingerprint: no click_event schema with fingerprint "
                    + toHex(fingerprint));
        }
        Reader in = new Reader(payload, 10);
        String eventId;
        long userId;
        long itemId;
        long categoryId;
        long behavior;
        long eventTime;
        try {
            eventId = in.string();
            userId = in.varlong();
            itemId = in.varlong();
            categoryId = in.varlong();
            behavior = in.varlong();
            eventTime = in.varlong();
            in.optionalString(); // session_id
            in.optionalString(); // device
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new InvalidRecord("DecodeError: corrupt body (" + e.getMessage() + ")");
        }
        if (!in.atEnd()) {
            throw new InvalidRecord("DecodeError: " + (payload.length - in.pos) + " trailing bytes after the record");
        }
        if (behavior < 0 || behavior >= BEHAVIORS.length) {
            throw new InvalidRecord("DecodeError: behavior index " + behavior + " out of range");
        }
        if (eventId.isEmpty()) {
            throw new InvalidRecord("InvalidField: empty event_id");
        }
        if (eventTime <= 0) {
            throw new InvalidRecord("InvalidField: event_time " + eventTime + " is not a positive epoch millisecond");
        }
        return new Click(eventId, userId, itemId, categoryId, (int) behavior, eventTime);
    }

    /** A record that is not a valid click; the message is the reason dead letters carry. No stack trace: cheap. */
    static final class InvalidRecord extends Exception {
        InvalidRecord(String reason) {
            super(reason, null, false, false);
        }
    }

    static boolean knownFingerprint(byte[] payload) {
        for (byte[] f : FINGERPRINTS) {
            if (Arrays.equals(f, 0, 8, payload, 2, 10)) {
                return true;
            }
        }
        return false;
    }

    /** Avro binary primitives over a byte array: zigzag varints, length-prefixed UTF-8, ["null", string] unions. */
    static final class Reader {
        final byte[] buf;
        int pos;

        Reader(byte[] buf, int pos) {
            this.buf = buf;
            this.pos = pos;
        }

        long varlong() {
            long raw = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= buf.length) {
                    throw new IllegalArgumentException("truncated varint");
                }
                int b = buf[pos++] & 0xFF;
                raw |= (long) (b & 0x7F) << shift;
                if (b < 0x80) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
            throw new IllegalArgumentException("varint longer than 10 bytes");
        }

        String string() {
            long length = varlong();
            if (length < 0 || length > buf.length - pos) {
                throw new IllegalArgumentException("string length " + length + " beyond the message");
            }
            try {
                String value = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(buf, pos, (int) length))
                        .toString();
                pos += (int) length;
                return value;
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("invalid UTF-8");
            }
        }

        void optionalString() {
            long branch = varlong();
            if (branch == 1) {
                string();
            } else if (branch != 0) {
                throw new IllegalArgumentException("union branch " + branch + " out of range");
            }
        }

        boolean atEnd() {
            return pos == buf.length;
        }
    }

    private static String toHex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}

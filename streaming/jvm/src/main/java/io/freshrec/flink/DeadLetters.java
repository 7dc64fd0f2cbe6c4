package io.freshrec.flink;

/**
 * Encodes a dead-letter record (schemas/avro/dead_letter.v1.avsc) in Avro single-object encoding, so a record the job
 * cannot apply goes to clicks-dlq whole, with where it came from and why. The reason's prefix up to the first colon
 * ("DecodeError", "UnknownSchemaFingerprint", "InvalidField", "Late", ...) becomes `error_type`.
 */
final class DeadLetters {
    /** dead_letter.v1 */
    static final byte[] FINGERPRINT = AvroWriter.hex("a7ef453c0c677a0b");

    /** Characters of a reason kept: a letter is its record plus a bounded overhead (schemas/topics.py's headroom). */
    static final int MAX_REASON = 1024;

    private DeadLetters() {}

    static byte[] encode(String sourceTopic, Integer partition, Long offset, byte[] key, byte[] payload, String reason,
            Long failedAt) {
        String given = reason == null ? "Unknown: no reason given" : reason;
        String why = given.length() > MAX_REASON ? given.substring(0, MAX_REASON) : given;
        return new AvroWriter(FINGERPRINT)
                .string(sourceTopic == null ? "" : sourceTopic)
                .varlong(partition == null ? -1 : partition)
                .varlong(offset == null ? -1 : offset)
                .optionalBytes(key)
                .optionalBytes(payload)
                .string(errorType(why))
                .string(why)
                .varlong(failedAt == null ? 0 : failedAt)
                .toByteArray();
    }

    /** The kind of a reason: its prefix up to the first colon (the whole reason when it has none). */
    static String errorType(String reason) {
        int colon = reason.indexOf(':');
        return colon > 0 ? reason.substring(0, colon) : reason;
    }
}

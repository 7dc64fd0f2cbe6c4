package io.freshrec.flink;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Avro binary primitives into a byte buffer, behind the single-object header (C3 01 + schema fingerprint). */
final class AvroWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

    AvroWriter(byte[] fingerprint) {
        out.write(0xC3);
        out.write(0x01);
        out.writeBytes(fingerprint);
    }

    AvroWriter varlong(long value) {
        long zigzag = (value << 1) ^ (value >> 63);
        while ((zigzag & ~0x7FL) != 0) {
            out.write((int) ((zigzag & 0x7F) | 0x80));
            zigzag >>>= 7;
        }
        out.write((int) zigzag);
        return this;
    }

    AvroWriter bytes(byte[] value) {
        varlong(value.length);
        out.writeBytes(value);
        return this;
    }

    AvroWriter string(String value) {
        return bytes(value.getBytes(StandardCharsets.UTF_8));
    }

    /** A ["null", "bytes"] union. */
    AvroWriter optionalBytes(byte[] value) {
        if (value == null) {
            return varlong(0);
        }
        varlong(1);
        return bytes(value);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    static byte[] hex(String s) {
        byte[] result = new byte[s.length() / 2];
        for (int i = 0; i < result.length; i++) {
            result[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return result;
    }
}

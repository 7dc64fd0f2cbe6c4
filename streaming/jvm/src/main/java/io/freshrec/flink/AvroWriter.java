package io.freshrec.flink;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Avro binary primitives into a growing byte array, behind the single-object header (C3 01 + schema fingerprint). */
final class AvroWriter {
    private byte[] out;
    private int size;

    AvroWriter(byte[] fingerprint) {
        this(fingerprint, 128);
    }

    /** `capacity`: the bytes expected, so that a message of that size is written without growing the array. */
    AvroWriter(byte[] fingerprint, int capacity) {
        out = new byte[Math.max(capacity, 2 + fingerprint.length)];
        out[size++] = (byte) 0xC3;
        out[size++] = 0x01;
        System.arraycopy(fingerprint, 0, out, size, fingerprint.length);
        size += fingerprint.length;
    }

    private void ensure(int extra) {
        if (size + extra > out.length) {
            out = Arrays.copyOf(out, Math.max(2 * out.length, size + extra));
        }
    }

    AvroWriter varlong(long value) {
        ensure(10);
        long zigzag = (value << 1) ^ (value >> 63);
        while ((zigzag & ~0x7FL) != 0) {
            out[size++] = (byte) ((zigzag & 0x7F) | 0x80);
            zigzag >>>= 7;
        }
        out[size++] = (byte) zigzag;
        return this;
    }

    /** A float as Avro writes it: its IEEE 754 bits, little-endian. */
    AvroWriter float32(float value) {
        ensure(4);
        int bits = Float.floatToIntBits(value);
        out[size++] = (byte) bits;
        out[size++] = (byte) (bits >>> 8);
        out[size++] = (byte) (bits >>> 16);
        out[size++] = (byte) (bits >>> 24);
        return this;
    }

    /** An array of long (or int) of the first n values: one block, then the end marker. */
    AvroWriter longs(long[] values, int n) {
        if (n > 0) {
            varlong(n);
            for (int i = 0; i < n; i++) {
                varlong(values[i]);
            }
        }
        return varlong(0);
    }

    AvroWriter bytes(byte[] value) {
        varlong(value.length);
        ensure(value.length);
        System.arraycopy(value, 0, out, size, value.length);
        size += value.length;
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
        return Arrays.copyOf(out, size);
    }

    static byte[] hex(String s) {
        byte[] result = new byte[s.length() / 2];
        for (int i = 0; i < result.length; i++) {
            result[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return result;
    }
}

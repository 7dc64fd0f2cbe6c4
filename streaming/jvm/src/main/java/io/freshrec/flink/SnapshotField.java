package io.freshrec.flink;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The fields of the snapshot message's user state, which {@link UserBehavior#toAvro} writes in the order that
 * schemas/avro/user_snapshot.v1.avsc (packaged in the jar) lists them: the one definition the job and the snapshot
 * writer share. A field the schema names and the job cannot write, one the job writes and the schema leaves out, or
 * one the schema types other than the job writes it, fails the job at its start, naming it.
 */
enum SnapshotField {
    ITEM_IDS("array<long>"), CATEGORY_IDS("array<long>"), BEHAVIORS("array<int>"), EVENT_TIMES("array<long>"),
    COUNT_PV("long"), COUNT_CART("long"), COUNT_FAV("long"), COUNT_BUY("long"), INTEREST("array<float>"),
    TOP_CATEGORIES("array<long>"), SUMMARY("string"), EVENT_TIME("long"), VERSION("long");

    static final String SCHEMA = "/avro/user_snapshot.v1.avsc";
    /** The schema's fingerprint (CRC-64-AVRO, little-endian), the header of every snapshot the job writes. */
    static final byte[] FINGERPRINT = AvroWriter.hex("c00f74c4dfd39028");
    /** The state record's field in the message. */
    static final String STATE = "s";
    static final SnapshotField[] ORDER = read(SCHEMA);

    /** The Avro type the job writes: a primitive, or array<primitive>. */
    final String avroType;

    SnapshotField(String avroType) {
        this.avroType = avroType;
    }

    static SnapshotField[] read(String resource) {
        JsonNode schema;
        try (InputStream in = SnapshotField.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not in the job's jar");
            }
            schema = new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(resource, e);
        }
        JsonNode top = schema.get("fields");
        if (top.size() != 2 || !"user_id".equals(top.get(0).get("name").asText())
                || !"long".equals(typeName(top.get(0).get("type"))) || !STATE.equals(top.get(1).get("name").asText())
                || !"record".equals(top.get(1).get("type").path("type").asText())) {
            throw new IllegalStateException(resource + " is not the record the job writes: user_id (long), then the "
                    + "record '" + STATE + "'");
        }
        JsonNode state = top.get(1).get("type");
        List<SnapshotField> order = new ArrayList<>();
        Set<SnapshotField> missing = EnumSet.allOf(SnapshotField.class);
        for (JsonNode field : state.get("fields")) {
            String name = field.get("name").asText();
            SnapshotField known;
            try {
                known = valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(resource + " names snapshot field '" + name + "', which the job does not write");
            }
            String type = typeName(field.get("type"));
            if (!known.avroType.equals(type)) {
                throw new IllegalStateException(resource + " types snapshot field '" + name + "' as " + type
                        + "; the job writes " + known.avroType);
            }
            order.add(known);
            missing.remove(known);
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException(resource + " leaves out snapshot fields the job writes: " + missing);
        }
        return order.toArray(new SnapshotField[0]);
    }

    private static String typeName(JsonNode type) {
        if (type.isObject() && "array".equals(type.path("type").asText())) {
            return "array<" + typeName(type.get("items")) + ">";
        }
        return type.isTextual() ? type.asText() : type.toString();
    }
}

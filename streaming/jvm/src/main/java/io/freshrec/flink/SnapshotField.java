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
 * The fields of the snapshot message's user state, which {@link UserBehavior#toJson} writes in the order that
 * schemas/avro/user_snapshot.v1.avsc (packaged in the jar) lists them: the one definition the job and the snapshot
 * writer share. A field the schema names and the job cannot write, or one the job writes and the schema leaves out,
 * fails the job at its start, naming it.
 */
enum SnapshotField {
    ITEM_IDS, CATEGORY_IDS, BEHAVIORS, EVENT_TIMES, COUNT_PV, COUNT_CART, COUNT_FAV, COUNT_BUY, INTEREST,
    TOP_CATEGORIES, SUMMARY, EVENT_TIME, VERSION;

    static final String SCHEMA = "/avro/user_snapshot.v1.avsc";
    /** The state record's field in the message. */
    static final String STATE = "s";
    static final SnapshotField[] ORDER = read(SCHEMA);

    /** The name on the wire: the schema's, the view's. */
    final String wireName = name().toLowerCase(Locale.ROOT);

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
        JsonNode state = null;
        for (JsonNode field : schema.get("fields")) {
            if (STATE.equals(field.get("name").asText())) {
                state = field.get("type");
            }
        }
        if (state == null) {
            throw new IllegalStateException(resource + " has no record field '" + STATE + "'");
        }
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
            order.add(known);
            missing.remove(known);
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException(resource + " leaves out snapshot fields the job writes: " + missing);
        }
        return order.toArray(new SnapshotField[0]);
    }
}

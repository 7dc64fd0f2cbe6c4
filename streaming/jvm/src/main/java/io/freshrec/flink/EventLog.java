package io.freshrec.flink;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;

import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.DefaultRollingPolicy;

/**
 * The applied clicks, as the offline event log's rows: JSON lines in one folder per event date (UTC), written by
 * Flink's FileSink. A part file becomes visible (loses its leading dot) only when a checkpoint that covers it
 * completes, and a restore truncates or drops what was written after that checkpoint, so with the user state that
 * decided which clicks apply, every applied click lands in exactly one visible part, also across kill -9 and
 * restarts. feature_store/offline/event_log.py turns visible parts into the parquet log.
 */
final class EventLog {
    static final String PREFIX = "clicks";
    static final String SUFFIX = ".jsonl";
    private static final String[] BEHAVIORS = {"PV", "CART", "FAV", "BUY"};

    private EventLog() {}

    /** Parts roll after rollMs (and at most 128 MiB), so a day holds a part per rollMs per subtask, not per checkpoint. */
    static FileSink<Click> sink(String directory, long rollMs) {
        Duration roll = Duration.ofMillis(rollMs);
        return FileSink.forRowFormat(new Path(directory), new ClickLine())
                .withBucketAssigner(new ByEventDate())
                .withRollingPolicy(DefaultRollingPolicy.builder()
                        .withRolloverInterval(roll)
                        .withInactivityInterval(roll)
                        .withMaxPartSize(MemorySize.ofMebiBytes(128))
                        .build())
                .withBucketCheckInterval(Math.min(rollMs, 60_000))
                .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix(PREFIX).withPartSuffix(SUFFIX).build())
                .build();
    }

    /** One click as a JSON object on a line, fields named and typed as the event log's columns. */
    static final class ClickLine implements Encoder<Click> {
        @Override
        public void encode(Click c, OutputStream out) throws IOException {
            out.write(line(c));
        }

        static byte[] line(Click c) {
            StringBuilder s = new StringBuilder(128).append("{\"event_id\":\"");
            escape(s, c.eventId);
            s.append("\",\"user_id\":").append(c.userId)
                    .append(",\"item_id\":").append(c.itemId)
                    .append(",\"category_id\":").append(c.categoryId)
                    .append(",\"behavior\":\"").append(BEHAVIORS[c.behavior])
                    .append("\",\"event_time\":").append(c.eventTime).append("}\n");
            return s.toString().getBytes(StandardCharsets.UTF_8);
        }

        /** A JSON string's characters: quotes, backslashes and control characters escaped. */
        private static StringBuilder escape(StringBuilder out, String text) {
            for (int i = 0; i < text.length(); i++) {
                char ch = text.charAt(i);
                if (ch == '"' || ch == '\\') {
                    out.append('\\').append(ch);
                } else if (ch < 0x20) {
                    out.append(String.format("\\u%04x", (int) ch));
                } else {
                    out.append(ch);
                }
            }
            return out;
        }
    }

    /** The click's event date, UTC, as the bucket (folder) name: yyyy-mm-dd. */
    static final class ByEventDate implements BucketAssigner<Click, String> {
        private transient long day = Long.MIN_VALUE;
        private transient String name;

        @Override
        public String getBucketId(Click click, Context context) {
            long d = Math.floorDiv(click.eventTime, 86_400_000L);
            if (d != day || name == null) {
                day = d;
                name = LocalDate.ofEpochDay(d).toString();
            }
            return name;
        }

        @Override
        public SimpleVersionedSerializer<String> getSerializer() {
            return SimpleVersionedStringSerializer.INSTANCE;
        }
    }
}

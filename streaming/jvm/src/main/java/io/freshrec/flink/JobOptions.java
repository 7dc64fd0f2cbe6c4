package io.freshrec.flink;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The behavior job's options as the JVM reads them: the fields of streaming/jobs/behavior_job.py's JobConfig that
 * shape the dataflow, passed by name (JobConfig.jvm_options) so that one definition drives both sides. An option
 * missing or unknown here fails the submission, naming it.
 */
public final class JobOptions {
    static final String KAFKA_PREFIX = "kafka.";
    static final Set<String> NAMES = Set.of("bootstrap", "clicks_topic", "group", "dead_letter_topic",
            "snapshot_topic", "flush_ms", "catch_up_ms", "bounded", "dead_letter_max_bytes", "out_of_orderness_ms",
            "max_ahead_ms", "state_ttl_s", "event_log_dir", "event_log_roll_ms");

    final String bootstrap;
    final String clicksTopic;
    final String group;
    final String deadLetterTopic;
    final String snapshotTopic;
    final long outOfOrdernessMs;
    final long maxAheadMs;
    final long flushMs;
    final long catchUpMs;
    final boolean bounded;
    final long deadLetterMaxBytes;
    final long stateTtlS;
    /** Folder of the event log's part files; empty: no event log. */
    final String eventLogDir;
    final long eventLogRollMs;
    /** The Kafka client properties of every source and sink (security: SASL, TLS), from the options "kafka.NAME". */
    final Properties kafka = new Properties();

    private JobOptions(Map<String, String> o) {
        bootstrap = o.get("bootstrap");
        clicksTopic = o.get("clicks_topic");
        group = o.get("group");
        deadLetterTopic = o.get("dead_letter_topic");
        snapshotTopic = o.get("snapshot_topic");
        outOfOrdernessMs = Long.parseLong(o.get("out_of_orderness_ms"));
        maxAheadMs = Long.parseLong(o.get("max_ahead_ms"));
        flushMs = Long.parseLong(o.get("flush_ms"));
        catchUpMs = Long.parseLong(o.get("catch_up_ms"));
        bounded = Boolean.parseBoolean(o.get("bounded"));
        deadLetterMaxBytes = Long.parseLong(o.get("dead_letter_max_bytes"));
        stateTtlS = Long.parseLong(o.get("state_ttl_s"));
        eventLogDir = o.get("event_log_dir");
        eventLogRollMs = Long.parseLong(o.get("event_log_roll_ms"));
        o.forEach((name, value) -> {
            if (name.startsWith(KAFKA_PREFIX)) {
                kafka.setProperty(name.substring(KAFKA_PREFIX.length()), value);
            }
        });
    }

    public static JobOptions of(Map<String, String> options) {
        Set<String> missing = new TreeSet<>(NAMES);
        missing.removeAll(options.keySet());
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(NAMES);
        unknown.removeIf(name -> name.startsWith(KAFKA_PREFIX));
        if (!missing.isEmpty() || !unknown.isEmpty()) {
            throw new IllegalArgumentException("behavior job options: missing " + missing + ", unknown " + unknown);
        }
        return new JobOptions(new HashMap<>(options));
    }
}

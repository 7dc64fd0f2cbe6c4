package io.freshrec.flink;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The job's own counts, beside Flink's per-operator ones (records in and out, busy time): what an operator alerts on.
 * Registered under the group "freshrec" of each operator, so the Prometheus reporter names them
 * flink_taskmanager_job_task_operator_freshrec_NAME. Dead letters are one counter per kind, the kind (the letter's
 * error_type) a label of flink_taskmanager_job_task_operator_freshrec_error_type_deadLetters: a burst of decode
 * errors and a burst of late clicks call for different people.
 */
final class JobMetrics {
    static final String GROUP = "freshrec";
    static final String ERROR_TYPE = "error_type";
    private final MetricGroup group;
    private final Map<String, Counter> deadLetters = new HashMap<>();

    JobMetrics(MetricGroup operator) {
        group = operator.addGroup(GROUP);
    }

    Counter counter(String name) {
        return group.counter(name);
    }

    /** The gauge `name`: how far behind processing time the last event it was set for was. */
    LagGauge lag(String name) {
        return group.gauge(name, new LagGauge());
    }

    /** Counts one dead letter under its reason's kind. */
    void deadLetter(String reason) {
        deadLetters.computeIfAbsent(DeadLetters.errorType(reason),
                kind -> group.addGroup(ERROR_TYPE, kind).counter("deadLetters")).inc();
    }

    /** Milliseconds from an event's time to when it was applied, for the last event applied. */
    static final class LagGauge implements org.apache.flink.metrics.Gauge<Long> {
        private long lagMs;

        void set(long eventTimeMs, long nowMs) {
            lagMs = nowMs - eventTimeMs;
        }

        @Override
        public Long getValue() {
            return lagMs;
        }
    }
}

package io.freshrec.flink;

import java.util.Properties;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.flink.util.Collector;

/**
 * Kafka source and sinks of raw records on the official connector. The job runs with flink-sql-connector-kafka, whose
 * Kafka client classes are shaded; this is compiled against that same jar, so the shaded names are the ones used.
 */
final class KafkaRecords {
    private KafkaRecords() {}

    /**
     * Every record of `topic` with its coordinates, from the group's committed offsets (earliest without); offsets
     * are committed on checkpoints, and a restore resumes from the checkpoint's own. `bounded`: stop at the end the
     * topic has when the job starts. `client`: the connection's properties (security: SASL, TLS).
     */
    static KafkaSource<KafkaRecord> source(String bootstrap, Properties client, String topic, String group,
            boolean bounded) {
        KafkaSourceBuilder<KafkaRecord> builder = KafkaSource.<KafkaRecord>builder()
                .setProperties(client)
                .setBootstrapServers(bootstrap)
                .setTopics(topic)
                .setGroupId(group)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new Reader());
        if (bounded) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        return builder.build();
    }

    /**
     * Key and value to `topic`, at least once (flushed on every checkpoint); records up to maxBytes. `client`: the
     * connection's properties (security), as the source's.
     */
    static KafkaSink<KafkaRecord> sink(String bootstrap, Properties client, String topic, long maxBytes) {
        Properties producer = new Properties();
        producer.putAll(client);
        producer.setProperty("linger.ms", "5");
        producer.setProperty("max.request.size", Long.toString(maxBytes));
        return KafkaSink.<KafkaRecord>builder()
                .setBootstrapServers(bootstrap)
                .setKafkaProducerConfig(producer)
                .setRecordSerializer(new Writer(topic))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .build();
    }

    static final class Reader implements KafkaRecordDeserializationSchema<KafkaRecord> {
        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<KafkaRecord> out) {
            out.collect(new KafkaRecord(record.topic(), record.partition(), record.offset(), record.key(),
                    record.value()));
        }

        @Override
        public TypeInformation<KafkaRecord> getProducedType() {
            return TypeInformation.of(KafkaRecord.class);
        }
    }

    static final class Writer implements KafkaRecordSerializationSchema<KafkaRecord> {
        private final String topic;

        Writer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(KafkaRecord record, KafkaSinkContext context, Long timestamp) {
            return new ProducerRecord<>(topic, record.key, record.value);
        }
    }
}

package io.freshrec.flink;

/**
 * A Kafka record as bytes: read from clicks with where it came from (dead letters carry that), or written to a topic
 * with only key and value set. A Flink POJO, so it crosses operators without Kryo.
 */
public class KafkaRecord {
    public String topic;
    public int partition;
    public long offset;
    public byte[] key;
    public byte[] value;

    public KafkaRecord() {}

    KafkaRecord(String topic, int partition, long offset, byte[] key, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.key = key;
        this.value = value;
    }

    static KafkaRecord of(byte[] key, byte[] value) {
        return new KafkaRecord(null, -1, -1, key, value);
    }
}

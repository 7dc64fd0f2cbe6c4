package io.freshrec.flink;

/**
 * A decoded, valid click on its way to its user's state (a Flink POJO: public fields, no-argument constructor). It
 * keeps the record it came from (partition, offset, key, payload): lateness is decided against the user's state, after
 * the keyBy, and a late click's dead letter carries the record whole.
 */
public class Click {
    public String eventId;
    public long userId;
    public long itemId;
    public long categoryId;
    public int behavior;
    public long eventTime;
    public int partition;
    public long offset;
    public byte[] key;
    public byte[] payload;

    public Click() {}

    Click(String eventId, long userId, long itemId, long categoryId, int behavior, long eventTime) {
        this.eventId = eventId;
        this.userId = userId;
        this.itemId = itemId;
        this.categoryId = categoryId;
        this.behavior = behavior;
        this.eventTime = eventTime;
    }

    Click from(KafkaRecord record) {
        partition = record.partition;
        offset = record.offset;
        key = record.key;
        payload = record.value;
        return this;
    }
}

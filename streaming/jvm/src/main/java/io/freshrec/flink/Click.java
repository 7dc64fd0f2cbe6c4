package io.freshrec.flink;

/** A decoded, valid click on its way to its user's state (a Flink POJO: public fields, no-argument constructor). */
public class Click {
    public String eventId;
    public long userId;
    public long itemId;
    public long categoryId;
    public int behavior;
    public long eventTime;

    public Click() {}

    Click(String eventId, long userId, long itemId, long categoryId, int behavior, long eventTime) {
        this.eventId = eventId;
        this.userId = userId;
        this.itemId = itemId;
        this.categoryId = categoryId;
        this.behavior = behavior;
        this.eventTime = eventTime;
    }
}

import io.freshrec.flink.Click;
import io.freshrec.flink.UserBehavior;
import io.freshrec.flink.UserBehaviorSerializer;
import java.util.Arrays;
import java.util.Random;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Users built by applying random clicks (from none to past the sequence length, with repeated event ids) are written
 * back to back, read back, and compared field by field with the originals and with their copies; then each is read
 * again through copy(DataInputView, DataOutputView). Prints "ok N" or fails naming the first difference.
 * Run by tests/unit/streaming/test_state_serializer.py.
 */
public class UserBehaviorRoundTrip {
    public static void main(String[] args) throws Exception {
        Random random = new Random(7);
        UserBehaviorSerializer serializer = UserBehaviorSerializer.INSTANCE;
        UserBehavior[] users = new UserBehavior[60];
        DataOutputSerializer out = new DataOutputSerializer(1024);
        for (int u = 0; u < users.length; u++) {
            users[u] = new UserBehavior();
            int clicks = u == 0 ? 0 : random.nextInt(3 * 50);
            for (int i = 0; i < clicks; i++) {
                Click c = new Click();
                c.userId = u;
                c.eventId = "e" + random.nextInt(2 * clicks + 1);
                c.eventTime = 1_700_000_000_000L + random.nextInt(600_000);
                c.itemId = random.nextInt(1_000_000);
                c.categoryId = random.nextInt(500);
                c.behavior = random.nextInt(4);
                if (!users[u].isLate(c.eventTime, 300_000)) {
                    users[u].apply(c, 300_000);
                }
            }
            users[u].dirty = random.nextBoolean();
            users[u].lastSnapshot = random.nextLong();
            users[u].expiresAt = random.nextLong();
            serializer.serialize(users[u], out);
        }
        DataInputDeserializer in = new DataInputDeserializer(out.getSharedBuffer(), 0, out.length());
        for (UserBehavior user : users) {
            same(user, serializer.deserialize(in), "read back");
            same(user, serializer.copy(user), "copied");
        }
        check(in.available() == 0, "bytes left after the last user: " + in.available());
        in = new DataInputDeserializer(out.getSharedBuffer(), 0, out.length());
        DataOutputSerializer copied = new DataOutputSerializer(out.length()); // write(DataInputView, n) never grows
        for (int u = 0; u < users.length; u++) {
            serializer.copy(in, copied);
        }
        check(Arrays.equals(Arrays.copyOf(copied.getSharedBuffer(), copied.length()),
                Arrays.copyOf(out.getSharedBuffer(), out.length())), "copy(in, out) changed the bytes");
        System.out.println("ok " + users.length);
    }

    static void same(UserBehavior a, UserBehavior b, String how) {
        int n = a.size;
        int ids = a.idCount;
        check(n == b.size && ids == b.idCount, how + ": sizes");
        check(Arrays.equals(a.times, 0, n, b.times, 0, n), how + ": times");
        check(Arrays.equals(a.items, 0, n, b.items, 0, n), how + ": items");
        check(Arrays.equals(a.categories, 0, n, b.categories, 0, n), how + ": categories");
        check(Arrays.equals(a.behaviors, 0, n, b.behaviors, 0, n), how + ": behaviors");
        check(Arrays.equals(a.idHashes, 0, ids, b.idHashes, 0, ids), how + ": id hashes");
        check(Arrays.equals(a.idTimes, 0, ids, b.idTimes, 0, ids), how + ": id times");
        check(Arrays.equals(a.counts, b.counts) && Arrays.equals(a.sums, b.sums)
                && Arrays.equals(a.weights, b.weights), how + ": counts, sums, weights");
        check(a.tRef == b.tRef && a.newest == b.newest && a.version == b.version && a.dirty == b.dirty
                && a.lastSnapshot == b.lastSnapshot && a.expiresAt == b.expiresAt, how + ": scalars");
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }
}

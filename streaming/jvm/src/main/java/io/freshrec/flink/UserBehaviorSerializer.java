package io.freshrec.flink;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * {@link UserBehavior}'s state serializer: the user's arrays in one length-prefixed block, written and read in bulk.
 * Flink's POJO serializer, which the state had before, reads each field by reflection and writes each array element
 * as its own stream call; on the heap backend every checkpoint serializes every user, and every state access after
 * one deep-copies the user (copy-on-write), so those two walks were a third of the job's CPU. Only the used part of
 * each array is written. State written by the POJO serializer still restores: the heap backend reads it with the
 * serializer it was written with, and the next checkpoint writes it in this layout (compatible after migration).
 */
public final class UserBehaviorSerializer extends TypeSerializerSingleton<UserBehavior> {
    public static final UserBehaviorSerializer INSTANCE = new UserBehaviorSerializer();
    /** size and idCount; tRef, newest, version, lastSnapshot, expiresAt; dirty. */
    private static final int SCALARS = 2 * Integer.BYTES + 5 * Long.BYTES + 1;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public UserBehavior createInstance() {
        return new UserBehavior();
    }

    @Override
    public UserBehavior copy(UserBehavior from) {
        UserBehavior to = new UserBehavior();
        to.size = from.size;
        to.times = from.times.clone();
        to.items = from.items.clone();
        to.categories = from.categories.clone();
        to.behaviors = from.behaviors.clone();
        to.idCount = from.idCount;
        to.idHashes = from.idHashes.clone();
        to.idTimes = from.idTimes.clone();
        to.counts = from.counts.clone();
        to.sums = from.sums.clone();
        to.weights = from.weights.clone();
        to.tRef = from.tRef;
        to.newest = from.newest;
        to.version = from.version;
        to.dirty = from.dirty;
        to.lastSnapshot = from.lastSnapshot;
        to.expiresAt = from.expiresAt;
        return to;
    }

    @Override
    public UserBehavior copy(UserBehavior from, UserBehavior reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(UserBehavior u, DataOutputView target) throws IOException {
        int n = u.size;
        int ids = u.idCount;
        int length = SCALARS + Long.BYTES * (3 * n + 2 * ids + u.counts.length) + n
                + Double.BYTES * (u.sums.length + u.weights.length);
        ByteBuffer out = ByteBuffer.allocate(length);
        out.putInt(n).putInt(ids);
        out.asLongBuffer().put(u.times, 0, n).put(u.items, 0, n).put(u.categories, 0, n)
                .put(u.idHashes, 0, ids).put(u.idTimes, 0, ids).put(u.counts);
        out.position(out.position() + Long.BYTES * (3 * n + 2 * ids + u.counts.length));
        out.put(u.behaviors, 0, n);
        out.asDoubleBuffer().put(u.sums).put(u.weights);
        out.position(out.position() + Double.BYTES * (u.sums.length + u.weights.length));
        out.putLong(u.tRef).putLong(u.newest).putLong(u.version).putLong(u.lastSnapshot).putLong(u.expiresAt);
        out.put((byte) (u.dirty ? 1 : 0));
        target.writeInt(out.position());
        target.write(out.array(), 0, out.position());
    }

    @Override
    public UserBehavior deserialize(DataInputView source) throws IOException {
        byte[] block = new byte[source.readInt()];
        source.readFully(block);
        ByteBuffer in = ByteBuffer.wrap(block);
        UserBehavior u = new UserBehavior();
        int n = in.getInt();
        int ids = in.getInt();
        int capacity = Math.min(UserBehavior.SEQUENCE_LENGTH + 1, n + 1); // room for the next click
        u.size = n;
        u.times = new long[capacity];
        u.items = new long[capacity];
        u.categories = new long[capacity];
        u.behaviors = new byte[capacity];
        u.idCount = ids;
        u.idHashes = new long[ids];
        u.idTimes = new long[ids];
        in.asLongBuffer().get(u.times, 0, n).get(u.items, 0, n).get(u.categories, 0, n)
                .get(u.idHashes).get(u.idTimes).get(u.counts);
        in.position(in.position() + Long.BYTES * (3 * n + 2 * ids + u.counts.length));
        in.get(u.behaviors, 0, n);
        in.asDoubleBuffer().get(u.sums).get(u.weights);
        in.position(in.position() + Double.BYTES * (u.sums.length + u.weights.length));
        u.tRef = in.getLong();
        u.newest = in.getLong();
        u.version = in.getLong();
        u.lastSnapshot = in.getLong();
        u.expiresAt = in.getLong();
        u.dirty = in.get() != 0;
        return u;
    }

    @Override
    public UserBehavior deserialize(UserBehavior reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        int length = source.readInt();
        target.writeInt(length);
        target.write(source, length);
    }

    @Override
    public TypeSerializerSnapshot<UserBehavior> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores this serializer; accepts the POJO serializer's snapshot of the same class, after migration. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<UserBehavior> {
        public Snapshot() {
            super(() -> INSTANCE);
        }

        @Override
        public TypeSerializerSchemaCompatibility<UserBehavior> resolveSchemaCompatibility(
                TypeSerializerSnapshot<UserBehavior> old) {
            if (old instanceof PojoSerializerSnapshot<UserBehavior> pojo
                    && pojo.restoreSerializer().createInstance() instanceof UserBehavior) {
                return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
            }
            return super.resolveSchemaCompatibility(old);
        }
    }
}

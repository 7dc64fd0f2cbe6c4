"""Feast objects of freshrec, built from feature_store.views (the one spec the codec validates against).

Only definitions live in this folder: `feast apply` imports every .py file here.
"""

from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Array, Bytes, Float32, Int32, Int64, String

from feature_store.views import ITEM, USER_INTENT, USER_REALTIME, ViewSpec

_DTYPES = {
    "int64": Int64, "int32": Int32, "float32": Float32, "string": String, "bytes": Bytes,
    "int64[]": Array(Int64), "int32[]": Array(Int32), "float32[]": Array(Float32), "string[]": Array(String),
}  # fmt: skip

user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64, description="A shopper.")
item = Entity(name="item", join_keys=["item_id"], value_type=ValueType.INT64, description="A catalogue item.")


def _file_source(spec: ViewSpec) -> FileSource:
    return FileSource(
        name=f"{spec.name}_offline",
        path=f"data/offline/{spec.name}",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )


def _view(spec: ViewSpec, entity: Entity, source) -> FeatureView:  # noqa: ANN001
    return FeatureView(
        name=spec.name,
        entities=[entity],
        ttl=spec.ttl,
        schema=[Field(name=f.name, dtype=_DTYPES[f.dtype], description=f.doc) for f in spec.fields],
        source=source,
        online=True,
        description=spec.doc,
    )


user_realtime_push = PushSource(name="user_realtime_push", batch_source=_file_source(USER_REALTIME))
user_realtime = _view(USER_REALTIME, user, user_realtime_push)
user_intent = _view(USER_INTENT, user, _file_source(USER_INTENT))
item_features = _view(ITEM, item, _file_source(ITEM))

"""`freshrec topics`: inspect and prepare Kafka topics."""

from __future__ import annotations

import click
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from infra.config import Settings
from schemas.kafka_client import Connection, client_config


@click.group()
def topics() -> None:
    """Kafka topics of the system (settings.topics: clicks, clicks-dlq, user-snapshots, user-snapshots-dlq,
    feature-updates)."""


@topics.command()
@click.argument("topic")
@click.pass_obj
def count(settings: Settings, topic: str) -> None:
    """Print how many records TOPIC holds (sum over partitions of high minus low watermark)."""
    try:
        click.echo(f"{topic}: {topic_size(settings.kafka.client_config(), topic)} records")
    except (KafkaException, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc


@topics.command()
@click.option("--partitions", type=int, default=None, help="Partitions per topic (default: kafka.partitions).")
@click.pass_obj
def create(settings: Settings, partitions: int | None) -> None:
    """Create the system's topics if missing (idempotent)."""
    names = settings.topics.names()
    admin = AdminClient(settings.kafka.client_config())
    existing = admin.list_topics(timeout=10).topics
    configs = settings.topics.configs()
    # replication -1: the cluster's default.replication.factor (and its min.insync.replicas), which is the cluster
    # operator's choice; a local cluster's is three (infra/stack/kafka.py)
    new = [NewTopic(n, partitions or settings.kafka.partitions, -1, config=configs[n]) for n in names if n not in existing]
    for name, future in (admin.create_topics(new) if new else {}).items():
        future.result()
        click.echo(f"created {name}")
    click.echo("topics ready: " + ", ".join(names))


def topic_size(kafka: Connection, topic: str) -> int:
    consumer = Consumer(client_config(kafka, {"group.id": "freshrec-cli", "enable.auto.commit": False}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise LookupError(f"topic {topic!r}: {metadata.error.str()}")
        total = 0
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()

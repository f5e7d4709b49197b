"""Home Assistant MQTT discovery: one device per PBX, one sensor per queue KPI, one
``binary_sensor`` per alert rule of a queue (``<queue id>_alert_<kind>``).

Sensors read the retained KPI and live topics with a ``value_template``; they are
available while queuepulse's status topic says ``online``. A binary sensor of the
``connectivity`` class says whether queuepulse is connected to the PBX's AMI: while it is
off, every other sensor shows figures frozen when the connection was lost. Discovery is
announced on connecting and again whenever Home Assistant publishes ``online`` on
``<homeassistant_prefix>/status`` (it has restarted and forgotten them).

A sensor's id is ``<queue id>_<key>``, and ``all_<key>`` for all queues together. Ids
never collide: a queue's id (:func:`queue_id`) is never ``all``, and no sensor key ends
with ``_`` and another key (a test holds :data:`SENSORS` to that).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata

from kpi.mqtt.payloads import Message
from kpi.mqtt.topics import Topics


@dataclass(frozen=True, slots=True)
class Sensor:
    """A KPI shown as a Home Assistant sensor."""

    key: str
    name: str
    source: str
    unit: str | None
    state_class: str
    device_class: str | None = None
    percent: bool = False
    field: str = ""

    @property
    def json_field(self) -> str:
        """The payload field the sensor reads."""
        return self.field or self.key


SENSORS = (
    Sensor("waiting", "waiting", "live", "calls", "measurement"),
    Sensor("longest_wait_s", "longest wait", "live", "s", "measurement", "duration"),
    Sensor("agents_available", "agents available", "live", "agents", "measurement",
           field="agents.available"),
    Sensor("agents_talking", "agents talking", "live", "agents", "measurement",
           field="agents.talking"),
    Sensor("agents_paused", "agents paused", "live", "agents", "measurement",
           field="agents.paused"),
    Sensor("agents_acw", "agents in after-call work", "live", "agents", "measurement",
           field="agents.acw"),
    Sensor("offered", "offered today", "today", "calls", "total_increasing"),
    Sensor("answered", "answered today", "today", "calls", "total_increasing"),
    Sensor("abandoned", "abandoned today", "today", "calls", "total_increasing"),
    Sensor("service_level", "service level today", "today", "%", "measurement", percent=True),
    Sensor("abandon_rate", "abandon rate today", "today", "%", "measurement", percent=True),
    Sensor("asa_s", "ASA today", "today", "s", "measurement", "duration"),
    Sensor("aht_s", "AHT today", "today", "s", "measurement", "duration"),
    Sensor("service_level_15m", "service level 15 min", "15m", "%", "measurement",
           percent=True, field="service_level"),
)

_CENTER_SENSORS = (
    Sensor("occupancy", "occupancy today", "today", "%", "measurement", percent=True),
)


ALL_QUEUES_ID = "all"
"""The id of the all-queues sensors; a queue of that name gets a hashed id."""
PBX_CONNECTED_ID = "pbx_connected"
"""The id of the binary sensor of the AMI connection."""
_MAX_ID = 48
"""The longest id made of a name (before its hash): entity ids stay readable."""
_MAX_LABEL = 64
"""The longest name shown in a sensor's name."""


def _hashed(plain: str, name: str) -> str:
    return f"{plain}_{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def slug(name: str) -> str:
    """An id Home Assistant accepts (``[a-z0-9_]``), kept distinct for distinct names: the
    name itself when it is one already, else (cut to :data:`_MAX_ID`) with a short hash."""
    plain = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:_MAX_ID].strip("_") or "x"
    return plain if plain == name else _hashed(plain, name)


def _label(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "\u2026"


def queue_id(queue: str) -> str:
    """A queue's id in its sensors' ids: its :func:`slug`, hashed when that is ``all``, so
    that a queue named ``all`` is not taken for all queues together."""
    found = slug(queue)
    return _hashed(found, queue) if found == ALL_QUEUES_ID else found


def queuepulse_version() -> str:
    """The installed queuepulse's version, for the device and the origin."""
    try:
        return metadata.version("queuepulse")
    except metadata.PackageNotFoundError:
        return "unknown"


def project_support_url() -> str | None:
    """Where users get help: the package's ``Issues`` (else ``Homepage``) project URL."""
    try:
        entries = metadata.metadata("queuepulse").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    urls = dict(entry.split(", ", 1) for entry in entries if ", " in entry)
    return urls.get("Issues") or urls.get("Homepage")


def origin(version: str, url: str | None) -> dict[str, str]:
    """Discovery's ``origin``: the application that announces the sensors, and ``url``,
    where to get help."""
    found = {"name": "queuepulse", "sw_version": version}
    if url:
        found["support_url"] = url
    return found


def _template(sensor: Sensor) -> str:
    value = "value_json." + sensor.json_field
    if sensor.percent:
        return f"{{{{ ({value} * 100) | round(1) if {value} is not none else none }}}}"
    return f"{{{{ {value} }}}}"


def discovery_messages(topics: Topics, queues: tuple[str, ...], ha_prefix: str,
                       version: str, support_url: str | None = None, *,
                       alerts: Sequence[tuple[str, str]] = (),
                       ami: bool = False) -> tuple[Message, ...]:
    """The retained discovery configs of every sensor of every queue and of all queues,
    a ``binary_sensor`` for each alert rule in ``alerts`` (queue, kind), and with ``ami``
    the binary sensor of the AMI connection.

    ``support_url``, where users of queuepulse get help, goes into the ``origin`` block.
    """
    device_id = f"queuepulse_{slug(topics.pbx)}"
    device = {
        "identifiers": [device_id],
        "name": f"queuepulse {topics.pbx}",
        "manufacturer": "queuepulse",
        "model": "Asterisk queue KPIs",
        "sw_version": version,
    }
    messages = [_connectivity(topics, ha_prefix, device, origin(version, support_url))
                ] if ami else []
    for queue in (*queues, None):
        label = "all queues" if queue is None else _label(queue)
        sensors = SENSORS + (_CENTER_SENSORS if queue is None else ())
        for sensor in sensors:
            object_id = f"{ALL_QUEUES_ID if queue is None else queue_id(queue)}_{sensor.key}"
            source = (topics.live(queue) if sensor.source == "live"
                      else topics.kpi(queue, sensor.source))
            config = {
                "name": f"{label} {sensor.name}",
                "unique_id": f"{device_id}_{object_id}",
                # HA 2025.10 replaced the object_id option with the whole entity id
                "default_entity_id": f"sensor.{device_id}_{object_id}",
                "state_topic": source,
                "value_template": _template(sensor),
                "unit_of_measurement": sensor.unit,
                "state_class": sensor.state_class,
                "availability_topic": topics.status,
                "payload_available": "online",
                "payload_not_available": "offline",
                "device": device,
                "origin": origin(version, support_url),
            }
            if sensor.device_class is not None:
                config["device_class"] = sensor.device_class
            topic = f"{ha_prefix}/sensor/{device_id}/{object_id}/config"
            messages.append(Message(topic, json.dumps(config, ensure_ascii=False), retain=True,
                                    stamped=False))
    for queue, kind in alerts:
        object_id = f"{queue_id(queue)}_alert_{kind}"
        config = {
            "name": f"{queue} alert {kind.replace('_', ' ')}",
            "unique_id": f"{device_id}_{object_id}",
            "default_entity_id": f"binary_sensor.{device_id}_{object_id}",
            "state_topic": topics.alert(queue, kind),
            "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
            "json_attributes_topic": topics.alert(queue, kind),
            "device_class": "problem",
            "availability_topic": topics.status,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device,
            "origin": origin(version, support_url),
        }
        topic = f"{ha_prefix}/binary_sensor/{device_id}/{object_id}/config"
        messages.append(Message(topic, json.dumps(config, ensure_ascii=False), retain=True,
                                stamped=False))
    return tuple(messages)


def _connectivity(topics: Topics, ha_prefix: str, device: Mapping[str, object],
                  found_origin: dict[str, str]) -> Message:
    """The binary sensor that is on while queuepulse is connected to the PBX's AMI."""
    device_id = f"queuepulse_{slug(topics.pbx)}"
    config = {
        "name": "PBX connected",
        "unique_id": f"{device_id}_{PBX_CONNECTED_ID}",
        "default_entity_id": f"binary_sensor.{device_id}_{PBX_CONNECTED_ID}",
        "state_topic": topics.ami,
        "value_template": "{{ value_json.state }}",
        "payload_on": "connected",
        "payload_off": "disconnected",
        "device_class": "connectivity",
        "json_attributes_topic": topics.ami,
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
        "origin": found_origin,
    }
    topic = f"{ha_prefix}/binary_sensor/{device_id}/{PBX_CONNECTED_ID}/config"
    return Message(topic, json.dumps(config, ensure_ascii=False), retain=True, stamped=False)

"""Design points: one workload on one configuration, with a stable identity.

A point's identity (:attr:`DesignPoint.point_id`) is a SHA-256 hash of its workload and the
complete configuration it runs (the base configuration with the point's field values applied),
written as canonical JSON. It does not depend on the order of the spec, the sampler or the
process, so a resumed sweep skips exactly the points already in its results.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from typing import Any

from ..hw.config import PeKind
from .samplers import Values, sample
from .spec import SweepSpec
from .workload import NetworkKey, Workload

#: Hex digits of the SHA-256 kept in a point id (64 bits: collisions are negligible).
ID_DIGITS = 16


def apply_values(base: dict[str, Any], values: Values) -> dict[str, Any]:
    """A deep copy of configuration data ``base`` with dotted ``values`` set (fields not re-checked)."""
    data = pickle.loads(pickle.dumps(base))  # a deep copy of plain data, several times faster than copy.deepcopy
    for dotted, value in values:
        node = data
        *sections, leaf = dotted.split(".")
        for part in sections:
            node = node[part]
        node[leaf] = value
    return data


def point_id(workload: Workload, config: dict[str, Any]) -> str:
    """Stable identity of ``workload`` on configuration data ``config``."""
    text = json.dumps({"workload": workload.to_dict(), "config": config}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:ID_DIGITS]


@dataclass(frozen=True)
class DesignPoint:
    """One workload on one configuration.

    Attributes:
        point_id: stable identity (:func:`point_id`).
        workload: the network to run.
        values: the varied fields' values, in parameter order.
        config: the complete configuration data (checked only when the point runs, so an
            impossible combination becomes a failed point, not a failed sweep).
    """

    point_id: str
    workload: Workload
    values: Values
    config: dict[str, Any]

    @property
    def network_key(self) -> NetworkKey:
        """The network this point simulates (the workload at the point's ``act_bits``, a built-in one
        compressed in the weight format of the point's PE kind)."""
        return NetworkKey.of(self.workload, int(self.config["act_bits"]), PeKind(self.config["pe"]["kind"]))


def design_points(spec: SweepSpec) -> list[DesignPoint]:
    """Every point of ``spec``: each sampled configuration on each workload (workload-major)."""
    base = spec.base.to_dict()
    configs = [(values, apply_values(base, values)) for values in sample(spec)]
    return [DesignPoint(point_id(workload, config), workload, values, config)
            for workload in spec.workloads for values, config in configs]

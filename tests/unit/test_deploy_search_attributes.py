"""A data directory made by an older devprov gets the search attributes added since.

The dev server registers `--search-attribute`s only when it creates its SQLite file; an
upgrade that adds one (as `FleetId` and `Tenant` were) must not leave every start
failing with "no mapping defined for search attribute".
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from worker.dev_server import register_search_attributes
from workflows.search_attributes import ALL_KEYS


async def test_missing_search_attributes_are_registered_and_existing_ones_kept(
    temporal_env: WorkflowEnvironment,
) -> None:
    client = temporal_env.client
    namespace = f"upgrade-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace,
            workflow_execution_retention_period=Duration(
                seconds=int(timedelta(days=1).total_seconds())
            ),
        )
    )

    await register_search_attributes(client, namespace)
    await register_search_attributes(client, namespace)  # idempotent

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {key.name for key in ALL_KEYS} <= set(listed.custom_attributes)

"""The memory and learning-queue contracts, collected here to run on PostgreSQL."""

from tests.contract.test_learning_queue_contract import *  # noqa: F403
from tests.contract.test_memory_contract import *  # noqa: F403

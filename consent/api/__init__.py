"""The consent API: officers' endpoints (``officer``) and the employee's own (``employee``).

Views parse input, call a service or a selector, and shape the output.
"""

from consent.api.employee import (
    MeAccessListApi,
    MeApi,
    MeErasureRequestListCreateApi,
    MeExclusionsApi,
    MeGrantCreateApi,
    MeHistoryApi,
    MeReceiptDetailApi,
    MeReceiptListApi,
    MeWithdrawalCreateApi,
)
from consent.api.officer import (
    AllowlistDetailApi,
    AllowlistListCreateApi,
    ConsentStatsApi,
    ErasureDeadlinesApi,
    NoticeCurrentApi,
    NoticeDetailApi,
    NoticeListCreateApi,
    NoticePublishApi,
    RetentionApi,
)

__all__ = [
    "AllowlistDetailApi",
    "AllowlistListCreateApi",
    "ConsentStatsApi",
    "ErasureDeadlinesApi",
    "MeAccessListApi",
    "MeApi",
    "MeErasureRequestListCreateApi",
    "MeExclusionsApi",
    "MeGrantCreateApi",
    "MeHistoryApi",
    "MeReceiptDetailApi",
    "MeReceiptListApi",
    "MeWithdrawalCreateApi",
    "NoticeCurrentApi",
    "NoticeDetailApi",
    "NoticeListCreateApi",
    "NoticePublishApi",
    "RetentionApi",
]

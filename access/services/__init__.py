"""Every write of the data-access app, one function per use case (see the modules for the rules)."""

from access.services.exports import ExportStream, export_begin
from access.services.grants import grant_revoke, grants_expire
from access.services.propagation import withdrawals_acknowledge, withdrawals_for_holder
from access.services.requests import data_request_review, data_request_submit, data_requests_expire

__all__ = [
    "ExportStream",
    "data_request_review",
    "data_request_submit",
    "data_requests_expire",
    "export_begin",
    "grant_revoke",
    "grants_expire",
    "withdrawals_acknowledge",
    "withdrawals_for_holder",
]

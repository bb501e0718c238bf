"""API routes of the audit app, mounted under /api/v1/audit/."""

from django.urls import path

from audit import api

urlpatterns = [
    path("checkpoints", api.CheckpointCreateApi.as_view(), name="audit-checkpoints"),
    path("checkpoints/latest", api.CheckpointLatestApi.as_view(), name="audit-checkpoint-latest"),
    path("entries", api.EntryListApi.as_view(), name="audit-entries"),
    path("proofs/inclusion", api.InclusionProofApi.as_view(), name="audit-proof-inclusion"),
    path("proofs/consistency", api.ConsistencyProofApi.as_view(), name="audit-proof-consistency"),
]

from django.http import JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from signing.keyring import jwks


@require_GET
@cache_control(public=True, max_age=60)
def jwks_view(request):
    """``/.well-known/jwks.json``: public keys for tokens, receipts and checkpoints."""
    response = JsonResponse(jwks())
    response["Access-Control-Allow-Origin"] = "*"
    return response

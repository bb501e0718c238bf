from accounts.consoles import consoles_for


def consoles(request):
    return {"consoles": consoles_for(getattr(request, "user", None))}

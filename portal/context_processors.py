from imagebank.roles import user_roles


def navigation(request) -> dict:
    """The signed-in user's bank-wide roles, for the navigation bar."""
    return {"bank_roles": user_roles(request.user) if hasattr(request, "user") else frozenset()}

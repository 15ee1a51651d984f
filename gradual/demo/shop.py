"""The demo target's shop: a login that issues a bearer token and a session cookie, and routes that need both.

It is what examples/journey/ walks through (login with users from a CSV, browse, add to cart, check out)
and what the journey tests assert against: ``GET /__shop`` reports every login per user, every request
turned away (with why), and every cart and order, so a test checks what the server saw.

    POST /shop/login      {"username", "password"}  -> 200 {"access_token", "user"} + Set-Cookie: session
    GET  /shop/items                                 -> 200 [{"id", "name", "price"}]         (token + cookie)
    GET  /shop/items/ID                              -> 200 {"id", "name", "price"}           (token + cookie)
    POST /shop/cart       {"item", "qty"}            -> 201 {"cart_id", "lines"} + Location   (token + cookie)
    GET  /shop/cart/ID                               -> 200 {"cart_id", "lines", "user"}      (token + cookie)
    POST /shop/checkout   {"cart_id"}                -> 303 Location: /shop/orders/ID         (token + cookie)
    GET  /shop/orders/ID                             -> 200 {"order_id", "status": "paid"}    (token + cookie)

A user logs in with password ``pw-<username>``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

ITEMS = [{"id": i, "name": name, "price": price} for i, (name, price) in enumerate(
    [("tea", 3.5), ("coffee", 4.0), ("cake", 5.25), ("scone", 2.75), ("juice", 3.0)], start=1)]
_BY_ID = {item["id"]: item for item in ITEMS}

Answer = tuple[int, Any, list[tuple[str, str]]]


def _cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class Shop:
    def __init__(self) -> None:
        self.logins: dict[str, int] = {}  # username -> successful logins
        self.rejected: dict[str, int] = {}  # why -> requests turned away
        self.served: dict[str, int] = {}  # username -> authenticated requests answered
        self._tokens: dict[str, str] = {}
        self._sessions: dict[str, str] = {}
        self.carts: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {"logins": dict(self.logins), "rejected": dict(self.rejected), "served": dict(self.served),
                "carts": len(self.carts), "orders": len(self.orders)}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one /shop request: (status, JSON document, extra headers)."""
        if path == "/shop/login":
            return self._login(method, body)
        user = self._user(headers)
        if isinstance(user, tuple):
            return user
        self.served[user] = self.served.get(user, 0) + 1
        parts = path.strip("/").split("/")[1:]
        if parts == ["items"] and method == "GET":
            return 200, ITEMS, []
        if len(parts) == 2 and parts[0] == "items" and method == "GET":
            item = _BY_ID.get(int(parts[1])) if parts[1].isdigit() else None
            return (200, item, []) if item else (404, {"error": f"no item {parts[1]}"}, [])
        if parts == ["cart"] and method == "POST":
            return self._add(user, body)
        if len(parts) == 2 and parts[0] == "cart" and method == "GET":
            cart = self.carts.get(int(parts[1])) if parts[1].isdigit() else None
            if cart is None or cart["user"] != user:
                return 404, {"error": f"no cart {parts[1]} of {user}"}, []
            return 200, {"cart_id": int(parts[1]), **cart}, []
        if parts == ["checkout"] and method == "POST":
            return self._checkout(user, body)
        if len(parts) == 2 and parts[0] == "orders" and method == "GET":
            order = self.orders.get(int(parts[1])) if parts[1].isdigit() else None
            if order is None or order["user"] != user:
                return 404, {"error": f"no order {parts[1]} of {user}"}, []
            return 200, {"order_id": int(parts[1]), "status": "paid", **order}, []
        return 404, {"error": f"no route {method} {path}"}, []

    def _reject(self, why: str, status: int = 401) -> Answer:
        self.rejected[why] = self.rejected.get(why, 0) + 1
        return status, {"error": why}, [("WWW-Authenticate", "Bearer")] if status == 401 else []

    def _json(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError:
            return None

    def _login(self, method: str, body: bytes) -> Answer:
        doc = self._json(body)
        if method != "POST" or not isinstance(doc, dict):
            return self._reject("login needs a POST with a JSON object", 400)
        user, password = doc.get("username"), doc.get("password")
        if not isinstance(user, str) or not user or password != f"pw-{user}":
            return self._reject("wrong username or password")
        token, sid = secrets.token_hex(8), secrets.token_hex(8)
        self._tokens[token] = user
        self._sessions[sid] = user
        self.logins[user] = self.logins.get(user, 0) + 1
        return 200, {"access_token": token, "user": user}, [("Set-Cookie", f"session={sid}; Path=/shop; HttpOnly")]

    def _user(self, headers: dict[str, str]) -> str | Answer:
        auth = headers.get("authorization", "")
        token_user = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if token_user is None:
            return self._reject("missing or unknown bearer token")
        session_user = self._sessions.get(_cookie(headers.get("cookie"), "session") or "")
        if session_user is None:
            return self._reject("missing or unknown session cookie")
        if session_user != token_user:
            return self._reject("token and session cookie of different users")
        return token_user

    def _add(self, user: str, body: bytes) -> Answer:
        doc = self._json(body)
        if not isinstance(doc, dict) or not isinstance(doc.get("item"), int) or doc["item"] not in _BY_ID:
            return 400, {"error": "expected {item: <an item id, an integer>, qty: <integer>}"}, []
        qty = doc.get("qty", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            return 400, {"error": "qty must be a positive integer"}, []
        cart_id = len(self.carts) + 1
        self.carts[cart_id] = {"user": user, "lines": [{"item": doc["item"], "qty": qty}]}
        return 201, {"cart_id": cart_id, "lines": 1}, [("Location", f"/shop/cart/{cart_id}")]

    def _checkout(self, user: str, body: bytes) -> Answer:
        doc = self._json(body)
        cart_id = doc.get("cart_id") if isinstance(doc, dict) else None
        if isinstance(cart_id, str) and cart_id.isdigit():
            cart_id = int(cart_id)
        cart = self.carts.get(cart_id) if isinstance(cart_id, int) else None
        if cart is None or cart["user"] != user:
            return 404, {"error": f"no cart {cart_id!r} of {user}"}, []
        order_id = len(self.orders) + 1
        self.orders[order_id] = {"user": user, "cart_id": cart_id}
        return 303, {"order_id": order_id}, [("Location", f"/shop/orders/{order_id}")]

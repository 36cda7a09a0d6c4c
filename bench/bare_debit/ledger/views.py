"""The one endpoint: a debit as three statements in one transaction (lock the
row, update the balance, insert the entry) through Django's connection — the
least a Django implementation of the money part of a settlement could do."""

import json

from django.db import connection, transaction
from django.http import JsonResponse


def debit(request):
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    try:
        body = json.loads(request.body)
        account, amount, reference = body["account"], body["amount_fen"], body["reference"]
        if not (isinstance(account, int) and isinstance(amount, int) and isinstance(reference, str)) \
                or amount <= 0 or not 0 < len(reference) <= 64:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad body"}, status=400)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT balance_fen FROM bare_account WHERE id = %s FOR UPDATE", [account])
        row = cursor.fetchone()
        if row is None:
            return JsonResponse({"error": "no such account"}, status=404)
        if row[0] < amount:
            return JsonResponse({"error": "insufficient balance"}, status=409)
        cursor.execute("UPDATE bare_account SET balance_fen = balance_fen - %s WHERE id = %s", [amount, account])
        cursor.execute("INSERT INTO bare_entry (account_id, amount_fen, reference, created_at) "
                       "VALUES (%s, %s, %s, now())", [account, -amount, reference])
    return JsonResponse({"account": account, "balance_fen": row[0] - amount})

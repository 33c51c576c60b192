"""moto_server that applies one request at a time, for the tests.

moto's TransactWriteItems writes item by item into its live tables and, when a condition
fails, puts back a copy taken at the start; moto_server answers on threads. Two transactions
in flight therefore undo or half-apply each other, which real DynamoDB (serializable
transactions) never does. Holding one lock around the whole WSGI call, body included, gives the
tests DynamoDB's isolation, so a race test judges the product and not moto.

Usage: python serial_moto.py -H 127.0.0.1 -p PORT   (the same flags as moto_server)
"""

import threading

from moto import server

_ONE_AT_A_TIME = threading.Lock()
_Dispatcher = server.DomainDispatcherApplication


class SerialDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        with _ONE_AT_A_TIME:
            # Drain the body inside the lock: a lazy iterable would run after it is released.
            return list(super().__call__(environ, start_response))


server.DomainDispatcherApplication = SerialDispatcher

if __name__ == "__main__":
    server.main()

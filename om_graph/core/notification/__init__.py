"""Notification: TMF622's event hub. Listeners registered over the TMF facade, and the delivery of
the order events they asked for, from the events table as a transactional outbox (fan-out to
per-listener deliveries, then sends in order per order, retried with back-off, dead-lettered for an
admin to retry or skip). The HTTP call itself is a port (:class:`ports.Deliver`) the outer layers
provide, as is the event's TMF representation (:class:`ports.Render`)."""

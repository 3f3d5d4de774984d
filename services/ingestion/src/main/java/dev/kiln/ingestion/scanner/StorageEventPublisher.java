package dev.kiln.ingestion.scanner;

import dev.kiln.model.notify.S3EventNotification;

import java.util.List;

/** Where the scanner's events go. */
public interface StorageEventPublisher {

    /**
     * Publishes the events in order and returns once every one is acknowledged.
     *
     * @throws RuntimeException if any event could not be published (the caller then keeps its old state)
     */
    void publishAll(List<S3EventNotification> events);
}

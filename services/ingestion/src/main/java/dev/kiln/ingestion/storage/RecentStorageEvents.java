package dev.kiln.ingestion.storage;

import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** The last storage events ingestion received, newest last (bounded; for inspection and tests). */
@ApplicationScoped
public class RecentStorageEvents {
    static final int CAPACITY = 1000;
    private final Deque<ReceivedStorageEvent> events = new ArrayDeque<>();

    public synchronized void add(ReceivedStorageEvent event) {
        if (events.size() == CAPACITY) {
            events.removeFirst();
        }
        events.addLast(event);
    }

    public synchronized List<ReceivedStorageEvent> all() {
        return List.copyOf(events);
    }
}

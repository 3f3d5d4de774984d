package dev.kiln.trainer.control;

import dev.kiln.diffusion.train.TrainingControl.Command;
import dev.kiln.model.events.TrainingControl;
import dev.kiln.model.json.Json;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * {@code kiln.training.control}: every trainer instance reads every command (its own consumer group, from the latest
 * offset at start) and queues it per job; the loop of that job polls it once per optimizer step. A command for a job
 * that has not started here yet waits for it.
 */
@ApplicationScoped
public class ControlCommands {
    private static final Logger LOG = Logger.getLogger(ControlCommands.class);

    private final Map<String, Queue<Command>> pending = new ConcurrentHashMap<>();

    @Incoming("training-control")
    public void consume(String body) {
        TrainingControl control;
        try {
            control = Json.read(body, TrainingControl.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("training.control record ignored: %s", e.getMessage());
            return;
        }
        Command command = switch (control.command()) {
            case CANCEL -> Command.CANCEL;
            case SAVE_NOW -> Command.SAVE_NOW;
            case SAMPLE_NOW -> Command.SAMPLE_NOW;
        };
        LOG.infof("job %s: control command %s", control.jobId(), control.command().wire());
        pending.computeIfAbsent(control.jobId(), j -> new ConcurrentLinkedQueue<>()).add(command);
    }

    /** The next command for {@code jobId}, or {@link Command#NONE}. */
    public Command poll(String jobId) {
        Queue<Command> queue = pending.get(jobId);
        Command next = queue == null ? null : queue.poll();
        return next == null ? Command.NONE : next;
    }

    /** Forgets a finished job's commands. */
    public void forget(String jobId) {
        pending.remove(jobId);
    }
}

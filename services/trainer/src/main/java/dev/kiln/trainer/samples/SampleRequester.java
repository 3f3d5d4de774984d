package dev.kiln.trainer.samples;

import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.train.SampleRequests;
import dev.kiln.model.events.SamplesRequested;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.messaging.KilnMessages;
import dev.kiln.service.storage.S3Storage;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

/**
 * Hands a job's sample points to the sampler service: the network as trained so far goes to
 * {@code outputs/<job>/state/samples/step-<N>.safetensors} and a {@code kiln.samples.requested} event names it with the
 * job's prompt lines, so training goes on while another process renders.
 */
@ApplicationScoped
public class SampleRequester {
    private static final Logger LOG = Logger.getLogger(SampleRequester.class);
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

    private final S3Storage storage;
    private final MutinyEmitter<String> requests;

    @Inject
    public SampleRequester(S3Storage storage, @Channel("samples-requested") MutinyEmitter<String> requests) {
        this.storage = storage;
        this.requests = requests;
    }

    /** The engine's sample hook for {@code jobId}. */
    public SampleRequests forJob(String jobId) {
        return (network, prompts, step, epoch) -> request(jobId, network, prompts, step, epoch);
    }

    private void request(String jobId, Path network, List<SamplePrompt> prompts, long step, int epoch) {
        String key = ObjectKeys.sampleNetwork(jobId, step);
        try {
            storage.putFile(key, network, "application/octet-stream");
        } finally {
            try {
                Files.deleteIfExists(network);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + network, e);
            }
        }
        SamplesRequested request = new SamplesRequested(jobId, key,
                prompts.stream().map(SamplePrompt::toLine).toList(), step, epoch);
        requests.sendMessage(KilnMessages.cloudEvent(Json.write(request), jobId, jobId)).await().atMost(ACK_TIMEOUT);
        LOG.infof("job %s: %d sample(s) requested at step %d from %s", jobId, prompts.size(), step, key);
    }
}

package dev.kiln.diffusion.train;

import dev.kiln.diffusion.sampling.SamplePrompt;

import java.nio.file.Path;
import java.util.List;

/**
 * Where a run's sample points go when the images are rendered elsewhere (the trainer service hands them to the
 * sampler service over Kafka) instead of in the training process ({@code kiln train}). LoRA runs only: methods that
 * train the model itself render in the training process.
 */
@FunctionalInterface
public interface SampleRequests {

    /**
     * Samples are due at {@code step} (in {@code epoch}; 0 before training).
     *
     * @param network the network as trained so far, saved as a kohya LoRA file; this call owns it (may move or
     *                delete it)
     * @param prompts the job's sample prompts
     */
    void requested(Path network, List<SamplePrompt> prompts, long step, int epoch);
}

package dev.kiln.model.events;

import java.util.List;

/**
 * {@code kiln.latents.tasks} (key = image sha256): latents of one image that a job needs and the cache lacks, for
 * whichever latent-cache worker gets the partition. Each target is written to
 * {@code cache/latents/<vaeSha256>/<imageSha256>_<W>x<H>[_flip].safetensors}.
 *
 * @param jobId             the job that asked (a failure is reported to it)
 * @param modelKey          the job's {@code pretrained_model_name_or_path}: a single-file object or a diffusers folder
 * @param v2                the job's {@code v2}, or null when it does not set it (inferred from the weights)
 * @param vParameterization the job's {@code v_parameterization}, or null
 * @param vaeSha256         the VAE's weights fingerprint the owner computed; a worker whose model differs refuses
 * @param imageKey          the image's object key (as in the plan)
 * @param imageSha256       the image's content hash the plan was made for
 * @param targets           the bucket sizes and flips to encode
 */
public record LatentTask(String jobId, String modelKey, Boolean v2, Boolean vParameterization, String vaeSha256,
                         String imageKey, String imageSha256, List<Target> targets) {

    public LatentTask {
        Fields.requiredText(jobId, "latents.tasks", "jobId");
        Fields.requiredText(modelKey, "latents.tasks", "modelKey");
        Fields.requiredText(vaeSha256, "latents.tasks", "vaeSha256");
        Fields.requiredText(imageKey, "latents.tasks", "imageKey");
        Fields.requiredText(imageSha256, "latents.tasks", "imageSha256");
        Fields.required(targets, "latents.tasks", "targets");
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("latents.tasks: 'targets' is empty");
        }
        targets = List.copyOf(targets);
    }

    /**
     * One latent: the image resized to {@code resizedWidth} x {@code resizedHeight}, centre-cropped to the bucket
     * {@code width} x {@code height}, flipped horizontally when {@code flip}.
     */
    public record Target(int width, int height, int resizedWidth, int resizedHeight, boolean flip) {

        public Target {
            if (width <= 0 || height <= 0 || resizedWidth < width || resizedHeight < height) {
                throw new IllegalArgumentException("latents.tasks: target bucket " + width + "x" + height
                        + " does not fit its resized size " + resizedWidth + "x" + resizedHeight);
            }
        }
    }
}

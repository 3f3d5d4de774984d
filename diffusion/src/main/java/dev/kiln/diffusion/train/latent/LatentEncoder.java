package dev.kiln.diffusion.train.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.image.ImageResize;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.train.StepRandom;
import dev.kiln.diffusion.vae.AutoencoderKL;
import dev.kiln.diffusion.vae.LatentDistribution;
import dev.kiln.model.dataset.BucketChoice;
import dev.kiln.model.dataset.CropGeometry;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.SplittableRandom;

/**
 * Encodes one image into latents the way sd-scripts caches them ({@code cache_batch_latents}): resized to the planned
 * size (area when shrinking, Lanczos when growing), centre-cropped to the bucket, optionally flipped, scaled to
 * [-1, 1], and {@code vae.encode(x).latent_dist.sample()}. The sample's Gaussian is drawn from a generator keyed by
 * the image hash and flip, so the same image always gets the same latents.
 */
public final class LatentEncoder {

    private final AutoencoderKL vae;

    public LatentEncoder(AutoencoderKL vae) {
        this.vae = vae;
    }

    /** The image as the VAE sees it: resized, centre-cropped to the bucket, flipped when asked. */
    public static BufferedImage prepare(BufferedImage image, BucketChoice choice, boolean flip) {
        BufferedImage resized = ImageResize.resize(image, choice.resized().width(), choice.resized().height());
        CropGeometry.Crop crop = CropGeometry.center(choice);
        int width = choice.bucket().width();
        int height = choice.bucket().height();
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            if (flip) {
                g.drawImage(resized, width, 0, 0, height, crop.left(), crop.top(), crop.left() + width,
                        crop.top() + height, null);
            } else {
                g.drawImage(resized, 0, 0, width, height, crop.left(), crop.top(), crop.left() + width,
                        crop.top() + height, null);
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** Latents [C, H/f, W/f] of the prepared image, in a sub-manager's arrays handed to {@code manager}. */
    public NDArray encode(BufferedImage prepared, String imageSha256, boolean flip, NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray pixels = ImageTensors.fromImage(prepared, scope);
            try (LatentDistribution dist = vae.encode(pixels)) {
                Shape shape = dist.mean().getShape();
                SplittableRandom random = StepRandom.LATENT.at(Long.parseUnsignedLong(imageSha256.substring(0, 16), 16), 0, flip ? 1 : 0);
                float[] eps = new float[Math.toIntExact(shape.size())];
                for (int i = 0; i < eps.length; i++) {
                    eps[i] = (float) random.nextGaussian();
                }
                NDArray sample = dist.sample(scope.create(eps, shape));
                NDArray out = sample.reshape(shape.slice(1));
                out.attach(manager);
                return out;
            }
        }
    }
}

package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multi-head scaled dot-product attention, computed in chunks of query rows so that the score matrix of one
 * chunk stays under a byte budget (at 512² a full SD1.5 self-attention score tensor is 1 GiB at batch 2).
 * Chunking only splits independent rows, so the result equals the unchunked computation.
 */
public final class Attention {

    /**
     * Default budget for one chunk's score tensor. Kept well under glibc's largest mmap threshold (32 MiB):
     * bigger buffers are fresh mmaps on every call and their page faults cost more than the math (measured
     * here: exp over 64 MiB took 1.3 s, over 4 MiB 1 ms). Small chunks cost nothing extra in matmul time.
     */
    public static final long DEFAULT_CHUNK_BYTES = 4L << 20;

    private Attention() {
    }

    /**
     * Attention over already projected {@code q [B,Nq,C]}, {@code k [B,Nk,C]}, {@code v [B,Nk,C]} with
     * {@code heads} heads of size {@code C/heads}; returns {@code [B,Nq,C]}.
     *
     * @param upcast     compute scores and softmax in float32 even when the inputs are half precision
     *                   (diffusers' upcast_attention; a no-op for float32 inputs)
     * @param chunkBytes the largest score tensor (bytes) computed at once; {@code <= 0} means unchunked
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, int heads, boolean upcast, long chunkBytes) {
        Shape qs = q.getShape();
        long batch = qs.get(0);
        long queries = qs.get(1);
        long channels = qs.get(2);
        long keys = k.getShape().get(1);
        if (channels % heads != 0) {
            throw new IllegalArgumentException("attention width " + channels + " is not divisible by " + heads + " heads");
        }
        long headDim = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        DataType valueType = v.getDataType();

        // [B,N,C] -> [B*h,N,d]; keys transposed to [B*h,d,Nk] for the score matmul.
        NDArray qh = q.reshape(batch, queries, heads, headDim).transpose(0, 2, 1, 3)
                .reshape(batch * heads, queries, headDim);
        qh = ScalarOps.mul(qh, scale);
        NDArray kt = k.reshape(batch, keys, heads, headDim).transpose(0, 2, 3, 1)
                .reshape(batch * heads, headDim, keys);
        NDArray vh = v.reshape(batch, keys, heads, headDim).transpose(0, 2, 1, 3)
                .reshape(batch * heads, keys, headDim);
        boolean cast = upcast && qh.getDataType() != DataType.FLOAT32;
        if (cast) {
            qh = qh.toType(DataType.FLOAT32, false);
            kt = kt.toType(DataType.FLOAT32, false);
        }
        NDArray qAll = qh;
        NDArray kAll = kt;
        long bytesPerRow = batch * heads * keys * 4L;
        long rows = chunkBytes <= 0 ? queries : Math.max(1, chunkBytes / bytesPerRow);
        NDArray out;
        if (rows >= queries) {
            out = scores(qAll, kAll, vh, cast, valueType);
        } else {
            NDList parts = new NDList();
            for (long start = 0; start < queries; start += rows) {
                long from = start;
                long end = Math.min(queries, start + rows);
                // each chunk in its own scope: its score matrix is freed before the next one is built
                parts.add(Scopes.scoped(() -> scores(qAll.get(new NDIndex(":, {}:{}", from, end)), kAll, vh,
                        cast, valueType)));
            }
            out = NDArrays.concat(parts, 1);
        }
        return out.reshape(batch, heads, queries, headDim).transpose(0, 2, 1, 3).reshape(batch, queries, channels);
    }

    /** FLOPs of {@link #attend}: the two batched matmuls. */
    public static long flops(long batch, long queries, long keys, long channels) {
        return 4L * batch * queries * keys * channels;
    }

    private static NDArray scores(NDArray q, NDArray kt, NDArray v, boolean cast, DataType valueType) {
        NDArray probs = q.matMul(kt).softmax(-1);
        if (cast) {
            probs = probs.toType(valueType, false);
        }
        return probs.matMul(v);
    }
}

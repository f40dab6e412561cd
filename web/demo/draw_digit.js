// The draw-a-digit page: the reader draws on a canvas, the page prepares the drawing
// the way MNIST's digits were prepared (mnist_helpers.segmentation.to_mnist_format,
// ported line by line), and the book's small CNN, exported to ONNX by chapter 7, reads
// it with onnxruntime-web. The tests in tests/test_rendered_book.py draw strokes with
// the mouse and compare this file's 28x28 input with the Python pipeline's.
(function () {
  "use strict";

  const SIZE = 28; // MNIST's frame
  const BOX = 20; // the longer side of the digit's box inside the frame
  const STROKE_WIDTH = 18; // pixels on the 280x280 drawing canvas
  const LANCZOS_SUPPORT = 3.0;

  const script = document.currentScript;
  const modelUrl = new URL("mnist_small_cnn.onnx", script.src).href;
  ort.env.wasm.wasmPaths = new URL("../ort/", script.src).href;
  // Threads need cross-origin isolation, which a static book does not have.
  ort.env.wasm.numThreads = 1;

  // Python's round(): halves go to the even neighbour (JavaScript's Math.round goes up).
  function roundHalfEven(value) {
    const floor = Math.floor(value);
    const difference = value - floor;
    if (difference > 0.5) return floor + 1;
    if (difference < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  function sinc(x) {
    if (x === 0) return 1;
    const pix = Math.PI * x;
    return Math.sin(pix) / pix;
  }

  function lanczos(x) {
    return -LANCZOS_SUPPORT < x && x < LANCZOS_SUPPORT ? sinc(x) * sinc(x / LANCZOS_SUPPORT) : 0;
  }

  // Pillow's resampling weights (Resample.c, precompute_coeffs) for one axis.
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1.0);
    const support = LANCZOS_SUPPORT * filterScale;
    const weights = [];
    for (let out = 0; out < outSize; out++) {
      const centre = (out + 0.5) * scale;
      const first = Math.max(Math.trunc(centre - support + 0.5), 0);
      const last = Math.min(Math.trunc(centre + support + 0.5), inSize);
      const taps = [];
      let total = 0;
      for (let x = first; x < last; x++) {
        const weight = lanczos((x - centre + 0.5) / filterScale);
        taps.push(weight);
        total += weight;
      }
      weights.push({ first, taps: taps.map((weight) => (total !== 0 ? weight / total : 0)) });
    }
    return weights;
  }

  // Resize a float image (rows of `width`) to newWidth x newHeight: columns first, then
  // rows, each result stored as float32, as Pillow does for mode "F".
  function resize(pixels, width, height, newWidth, newHeight) {
    const across = coefficients(width, newWidth);
    const down = coefficients(height, newHeight);
    const wide = new Float32Array(newWidth * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < newWidth; x++) {
        let sum = 0;
        const { first, taps } = across[x];
        for (let k = 0; k < taps.length; k++) sum += pixels[y * width + first + k] * taps[k];
        wide[y * newWidth + x] = sum;
      }
    }
    const out = new Float32Array(newWidth * newHeight);
    for (let y = 0; y < newHeight; y++) {
      const { first, taps } = down[y];
      for (let x = 0; x < newWidth; x++) {
        let sum = 0;
        for (let k = 0; k < taps.length; k++) sum += wide[(first + k) * newWidth + x] * taps[k];
        out[y * newWidth + x] = sum;
      }
    }
    return out;
  }

  // to_mnist_format: crop to the ink, scale the longer side to 20 pixels, scale the
  // brightest pixel to 1, centre the box in 28x28, then move the centre of mass to the
  // centre, as far as the margins allow. Returns 784 values in [0, 255], or null.
  function toMnistFormat(ink, width, height) {
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[y * width + x] > 0) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    const cropHeight = bottom - top + 1;
    const cropWidth = right - left + 1;
    const cropped = new Float32Array(cropWidth * cropHeight);
    for (let y = 0; y < cropHeight; y++) {
      for (let x = 0; x < cropWidth; x++) cropped[y * cropWidth + x] = ink[(top + y) * width + left + x];
    }
    const scale = BOX / Math.max(cropHeight, cropWidth);
    const newHeight = Math.max(1, roundHalfEven(cropHeight * scale));
    const newWidth = Math.max(1, roundHalfEven(cropWidth * scale));
    const resized = resize(cropped, cropWidth, cropHeight, newWidth, newHeight);
    let brightest = 0;
    for (let i = 0; i < resized.length; i++) {
      resized[i] = Math.max(resized[i], 0);
      brightest = Math.max(brightest, resized[i]);
    }
    for (let i = 0; i < resized.length; i++) resized[i] = brightest > 0 ? resized[i] / brightest : 1;
    const frame = new Float32Array(SIZE * SIZE);
    const frameTop = Math.floor((SIZE - newHeight) / 2);
    const frameLeft = Math.floor((SIZE - newWidth) / 2);
    let mass = 0, rowMoment = 0, columnMoment = 0;
    for (let y = 0; y < newHeight; y++) {
      for (let x = 0; x < newWidth; x++) {
        const value = resized[y * newWidth + x];
        frame[(frameTop + y) * SIZE + frameLeft + x] = value;
        mass += value;
        rowMoment += (frameTop + y) * value;
        columnMoment += (frameLeft + x) * value;
      }
    }
    const clip = (value, low, high) => Math.min(Math.max(value, low), high);
    const shiftRows = clip(roundHalfEven((SIZE - 1) / 2 - rowMoment / mass), -frameTop, SIZE - frameTop - newHeight);
    const shiftColumns = clip(roundHalfEven((SIZE - 1) / 2 - columnMoment / mass), -frameLeft, SIZE - frameLeft - newWidth);
    const digit = new Array(SIZE * SIZE).fill(0);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const sourceY = (y - shiftRows + SIZE) % SIZE;
        const sourceX = (x - shiftColumns + SIZE) % SIZE;
        digit[y * SIZE + x] = roundHalfEven(Math.fround(frame[sourceY * SIZE + sourceX] * 255));
      }
    }
    return digit;
  }

  // The drawing as ink: white strokes on black, the red channel scaled to [0, 1].
  function canvasInk(canvas) {
    const { width, height } = canvas;
    const rgba = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i] / 255;
    return { ink, width, height };
  }

  function showInput(canvas, digit) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      image.data.set([digit[i], digit[i], digit[i], 255], 4 * i);
    }
    const scratch = document.createElement("canvas");
    scratch.width = scratch.height = SIZE;
    scratch.getContext("2d").putImageData(image, 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  function setUp(root) {
    const drawing = root.querySelector("#digit-canvas");
    const inputView = root.querySelector("#digit-input");
    const ranking = root.querySelector("#digit-top3");
    const status = root.querySelector("#digit-status");
    const context = drawing.getContext("2d");
    const state = { session: null, lastInput: null, lastProbabilities: null, pending: Promise.resolve() };

    function clear() {
      context.fillStyle = "#000";
      context.fillRect(0, 0, drawing.width, drawing.height);
      inputView.getContext("2d").clearRect(0, 0, inputView.width, inputView.height);
      ranking.innerHTML = "";
      state.lastInput = state.lastProbabilities = null;
      status.textContent = state.session ? "Draw a digit." : status.textContent;
    }

    async function read() {
      const { ink, width, height } = canvasInk(drawing);
      const digit = toMnistFormat(ink, width, height);
      if (digit === null || !state.session) return;
      state.lastInput = digit;
      showInput(inputView, digit);
      const pixels = Float32Array.from(digit, (value) => value / 255);
      const feeds = { [state.session.inputNames[0]]: new ort.Tensor("float32", pixels, [1, SIZE, SIZE, 1]) };
      const output = await state.session.run(feeds);
      const probabilities = Array.from(output[state.session.outputNames[0]].data);
      state.lastProbabilities = probabilities;
      const top = probabilities.map((p, d) => [d, p]).sort((a, b) => b[1] - a[1]).slice(0, 3);
      ranking.innerHTML = top
        .map(([d, p]) => `<li><strong>${d}</strong> ${(100 * p).toFixed(1)}%</li>`)
        .join("");
      status.textContent = `The model reads a ${top[0][0]}.`;
      status.dataset.prediction = String(top[0][0]);
    }

    let drawingNow = false;
    function position(event) {
      const box = drawing.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * drawing.width) / box.width,
        ((event.clientY - box.top) * drawing.height) / box.height,
      ];
    }
    drawing.addEventListener("pointerdown", (event) => {
      drawingNow = true;
      drawing.setPointerCapture(event.pointerId);
      const [x, y] = position(event);
      context.beginPath();
      context.moveTo(x, y);
      context.lineTo(x, y);
      context.stroke();
    });
    drawing.addEventListener("pointermove", (event) => {
      if (!drawingNow) return;
      const [x, y] = position(event);
      context.lineTo(x, y);
      context.stroke();
    });
    const finish = () => {
      if (!drawingNow) return;
      drawingNow = false;
      state.pending = read();
    };
    drawing.addEventListener("pointerup", finish);
    drawing.addEventListener("pointercancel", finish);
    root.querySelector("#digit-clear").addEventListener("click", clear);

    context.lineWidth = STROKE_WIDTH;
    context.lineCap = context.lineJoin = "round";
    context.strokeStyle = "#fff";
    clear();
    ort.InferenceSession.create(modelUrl, { executionProviders: ["wasm"] }).then(
      (session) => {
        state.session = session;
        status.textContent = "Draw a digit.";
        root.dataset.ready = "true";
      },
      (error) => {
        status.textContent = `The model could not be loaded (${error.message}). Serve the book over HTTP; it does not run from file://.`;
      },
    );
    return state;
  }

  const root = document.getElementById("digit-demo");
  const state = root ? setUp(root) : null;
  // For the book's browser tests and for curious readers' consoles.
  window.digitDemo = { toMnistFormat, canvasInk, state };
})();

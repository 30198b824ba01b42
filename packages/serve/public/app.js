// The demo page: pick, drop or draw an image, POST it to /predict, show the top classes as bars.
const TOP_K = 5;
const $ = (id) => document.getElementById(id);

async function showModel() {
  try {
    const response = await fetch('/model');
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? response.statusText);
    $('model').textContent =
      `Model ${body.name} · version ${body.version} · ${body.labels.length} classes · ${body.inputShape.join('×')} input`;
  } catch (error) {
    $('model').textContent = `Model not available yet (${error.message}); reload the page in a moment.`;
  }
}

// Only the latest request may update the page (a stroke can finish before the previous answer arrives).
let latestRequest = 0;

async function classify(blob, filename) {
  const request = ++latestRequest;
  const form = new FormData();
  form.append('file', blob, filename);
  $('status').textContent = 'Classifying…';
  $('error').hidden = true;
  try {
    const response = await fetch(`/predict?top_k=${TOP_K}`, { method: 'POST', body: form });
    const body = await response.json();
    if (request !== latestRequest) return;
    if (!response.ok) {
      const { message, hint } = body.error ?? { message: response.statusText };
      throw new Error(hint ? `${message} (${hint})` : message);
    }
    render(body);
  } catch (error) {
    if (request !== latestRequest) return;
    $('results').replaceChildren();
    $('status').textContent = 'No prediction.';
    $('error').textContent = error.message;
    $('error').hidden = false;
  }
}

function render({ model, predictions, latency_ms: latency }) {
  $('status').textContent = `${model.name} ${model.version} · ${latency.toFixed(1)} ms in the service`;
  const rows = predictions.map(({ label, probability }) => {
    const row = document.createElement('li');
    row.dataset.label = label;
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = label;
    name.title = label;
    const track = document.createElement('span');
    track.className = 'track';
    track.setAttribute('role', 'progressbar');
    track.setAttribute('aria-label', label);
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', '100');
    track.setAttribute('aria-valuenow', (probability * 100).toFixed(1));
    const bar = document.createElement('span');
    bar.className = 'bar';
    track.append(bar);
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = `${(probability * 100).toFixed(1)}%`;
    row.append(name, track, value);
    requestAnimationFrame(() => {
      bar.style.width = `${Math.max(0.5, probability * 100)}%`;
    });
    return row;
  });
  $('results').replaceChildren(...rows);
}

function showPreview(file) {
  const preview = $('preview');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
}

function pickFile(file) {
  if (!file) return;
  showPreview(file);
  classify(file, file.name);
}

function setUpDrop() {
  const drop = $('drop');
  $('file').addEventListener('change', (event) => pickFile(event.target.files[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    pickFile(event.dataTransfer.files[0]);
  });
}

function setUpCanvas() {
  const canvas = $('canvas');
  const context = canvas.getContext('2d');
  const clear = () => {
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  context.strokeStyle = '#fff';
  context.lineWidth = 20;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  let drawing = false;
  let drawn = false;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * canvas.width) / box.width,
      ((event.clientY - box.top) * canvas.height) / box.height,
    ];
  };
  canvas.addEventListener('pointerdown', (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    context.beginPath();
    context.moveTo(...point(event));
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    context.lineTo(...point(event));
    context.stroke();
    drawn = true;
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    if (drawn) classifyDrawing();
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);
  const classifyDrawing = () => canvas.toBlob((blob) => blob && classify(blob, 'drawing.png'), 'image/png');
  $('classify-drawing').addEventListener('click', classifyDrawing);
  $('clear').addEventListener('click', () => {
    clear();
    drawn = false;
    $('results').replaceChildren();
    $('status').textContent = 'No image yet.';
  });
}

setUpDrop();
setUpCanvas();
showModel();

//! Flat views of a module's float parameters (in the module's fixed visiting order), used by the
//! optimiser, the EMA and checkpoints.
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

struct Collect<B: Backend> {
    out: Vec<Tensor<B, 1>>,
    shapes: Vec<Vec<usize>>,
}

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let dims = t.dims();
        let n: usize = dims.iter().product();
        self.shapes.push(dims.to_vec());
        self.out.push(t.reshape([n]));
    }
}

/// The float parameters of `module` flattened to 1-D tensors, with their shapes.
pub fn collect<B: Backend, M: Module<B>>(module: &M) -> (Vec<Tensor<B, 1>>, Vec<Vec<usize>>) {
    let mut c = Collect {
        out: Vec::new(),
        shapes: Vec::new(),
    };
    module.visit(&mut c);
    (c.out, c.shapes)
}

/// Shapes of the float parameters of `module`.
pub fn shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<Vec<usize>> {
    collect(module).1
}

struct Set<B: Backend> {
    values: std::vec::IntoIter<Tensor<B, 1>>,
}

impl<B: Backend> ModuleMapper<B> for Set<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        let shape = t.shape();
        let v = self
            .values
            .next()
            .expect("caller checked the number of parameters");
        let mut new = v.reshape(shape);
        if t.is_require_grad() {
            new = new.require_grad();
        }
        Param::from_mapped_value(id, new, mapper)
    }
}

/// Replace the float parameters of `module` by `values` (visiting order, flattened).
/// The caller guarantees count and sizes match (see [`check_shapes`]).
pub fn set<B: Backend, M: Module<B>>(module: M, values: Vec<Tensor<B, 1>>) -> M {
    let mut s = Set {
        values: values.into_iter(),
    };
    module.map(&mut s)
}

/// Compare two shape lists; `None` when equal, else a description of the first difference.
pub fn check_shapes(expected: &[Vec<usize>], found: &[Vec<usize>]) -> Option<String> {
    if expected.len() != found.len() {
        return Some(format!(
            "model has {} parameter tensors, file has {}",
            expected.len(),
            found.len()
        ));
    }
    expected
        .iter()
        .zip(found)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| format!("parameter {i}: model shape {a:?}, file shape {b:?}"))
}

/// Host copy of 1-D tensors.
pub fn to_host<B: Backend>(ts: &[Tensor<B, 1>]) -> Vec<Vec<f32>> {
    ts.iter()
        .map(|t| {
            t.clone()
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .expect("f32 data")
        })
        .collect()
}

/// Device tensors from host vectors.
pub fn from_host<B: Backend>(vs: &[Vec<f32>], device: &B::Device) -> Vec<Tensor<B, 1>> {
    vs.iter()
        .map(|v| Tensor::from_data(TensorData::new(v.clone(), [v.len()]), device))
        .collect()
}

/// AdamW hyper-parameters (Loshchilov & Hutter; PyTorch's `torch.optim.AdamW` update, which the
/// authors used with lr 3e-4 and PyTorch defaults beta = (0.9, 0.999), eps = 1e-8, wd = 0.01).
#[derive(Clone, Copy, Debug)]
pub struct AdamW {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// First and second moments of AdamW, one flat tensor per parameter.
#[derive(Clone, Debug)]
pub struct AdamState<B: Backend> {
    pub m: Vec<Tensor<B, 1>>,
    pub v: Vec<Tensor<B, 1>>,
}

impl<B: Backend> AdamState<B> {
    /// Zero moments for parameters of the given shapes.
    pub fn zeros(shapes: &[Vec<usize>], device: &B::Device) -> Self {
        let z = |s: &Vec<usize>| Tensor::<B, 1>::zeros([s.iter().product::<usize>()], device);
        AdamState {
            m: shapes.iter().map(z).collect(),
            v: shapes.iter().map(z).collect(),
        }
    }
}

struct AdamWMapper<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    state: &'a mut AdamState<B::InnerBackend>,
    idx: usize,
    hp: AdamW,
    /// 1-based step count for bias correction.
    step: u64,
}

impl<B: AutodiffBackend> ModuleMapper<B> for AdamWMapper<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        let i = self.idx;
        self.idx += 1;
        let Some(grad) = t.grad(self.grads) else {
            return Param::from_mapped_value(id, t, mapper);
        };
        let shape = t.shape();
        let n = shape.num_elements();
        let g = grad.reshape([n]);
        let p = t.inner().reshape([n]);
        let (m, v) = (self.state.m[i].clone(), self.state.v[i].clone());
        let [p_new, m, v] = crate::ops::adamw::update(p, g, m, v, self.hp, self.step);
        self.state.m[i] = m;
        self.state.v[i] = v;
        let new = Tensor::<B, 1>::from_inner(p_new)
            .reshape(shape)
            .require_grad();
        Param::from_mapped_value(id, new, mapper)
    }
}

/// One AdamW update of every parameter of `module` that has a gradient in `grads`;
/// `step` is the 1-based update count used for the bias corrections.
pub fn adamw_step<B: AutodiffBackend, M: Module<B>>(
    module: M,
    grads: &B::Gradients,
    state: &mut AdamState<B::InnerBackend>,
    hp: AdamW,
    step: u64,
) -> M {
    let mut mapper = AdamWMapper::<B> {
        grads,
        state,
        idx: 0,
        hp,
        step,
    };
    module.map(&mut mapper)
}

/// EMA update (reference code's `EMA.step_ema`): for the first `start` updates the EMA is a copy
/// of the weights, afterwards ema <- decay * ema + (1 - decay) * weights.
/// `step` is the 1-based number of optimiser updates done so far.
pub fn ema_update<B: Backend>(
    ema: &mut [Tensor<B, 1>],
    weights: &[Tensor<B, 1>],
    decay: f64,
    start: u64,
    step: u64,
) {
    for (e, w) in ema.iter_mut().zip(weights) {
        *e = if step <= start {
            w.clone()
        } else {
            e.clone().mul_scalar(decay) + w.clone().mul_scalar(1.0 - decay)
        };
    }
}

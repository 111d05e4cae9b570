//! NumPy arrays in: features as zero-copy faer views, labels and small dense arguments copied.
//!
//! Features (n×p, `float32` or `float64`) are read in place whatever their layout: C order,
//! Fortran order or any strided view (including negative strides) maps to a
//! [`faer::MatRef`] with the array's strides divided by the item size. Only arrays that cannot
//! be viewed that way are copied once: other real dtypes (converted to `float64`, `float16`
//! to `float32`), byte-swapped or unaligned data, and strides that are not a multiple of the
//! item size. Arrays with more than two dimensions are reshaped to `(n, -1)` (a view when
//! NumPy can make one).

use faer::MatRef;
use layerlaw_geometry::Scalar;
use numpy::ndarray::ArrayView1;
use numpy::{
    Element, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray2,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Borrowed features of one layer, in their own precision (no copy): the geometry crate's
/// [`LayerFeatures`](layerlaw_geometry::LayerFeatures).
pub use layerlaw_geometry::LayerFeatures as FeatureView;

/// Calls a generic expression on the `MatRef` inside a [`FeatureView`].
macro_rules! with_features {
    ($view:expr, |$m:ident| $body:expr) => {
        match $view {
            $crate::arrays::FeatureView::F32($m) => $body,
            $crate::arrays::FeatureView::F64($m) => $body,
        }
    };
}
pub(crate) use with_features;

/// A NumPy feature array held (and read-borrowed) while its [`FeatureView`] is in use.
pub enum FeatureArray<'py> {
    /// `float32` data.
    F32(PyReadonlyArray2<'py, f32>),
    /// `float64` data.
    F64(PyReadonlyArray2<'py, f64>),
}

impl FeatureArray<'_> {
    /// The zero-copy view of the array (strides in elements, possibly negative).
    pub fn view(&self) -> FeatureView<'_> {
        match self {
            FeatureArray::F32(a) => FeatureView::F32(strided_view(a)),
            FeatureArray::F64(a) => FeatureView::F64(strided_view(a)),
        }
    }
}

fn strided_view<'a, T: Element>(a: &'a PyReadonlyArray2<'_, T>) -> MatRef<'a, T> {
    let (shape, strides) = (a.shape(), a.strides());
    let size = std::mem::size_of::<T>() as isize;
    // SAFETY: `features` only lets through aligned arrays of native `T` whose byte strides are
    // multiples of `size_of::<T>()`, so every (i, j) with i < shape[0], j < shape[1] addresses
    // an element of the array's buffer. The read-only borrow `a` outlives the view and keeps
    // Rust code from writing to the array (NumPy's own functions give the same guarantee for
    // Python threads while they run without the GIL).
    unsafe {
        MatRef::from_raw_parts(
            a.data() as *const T,
            shape[0],
            shape[1],
            strides[0] / size,
            strides[1] / size,
        )
    }
}

fn numpy(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("numpy")
}

/// `numpy.asarray(obj)` as an untyped array (torch CPU tensors, lists, memoryviews, ...).
fn as_ndarray<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return Ok(a.clone());
    }
    let a = numpy(obj.py())?.call_method1("asarray", (obj,))?;
    Ok(a.cast_into::<PyUntypedArray>()?)
}

fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Converts `obj` (n×p array-like, or n×… flattened to n×p) into a borrowed feature array.
/// `what` names the argument in error messages (e.g. `layer 'fc1'`).
pub fn features<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<FeatureArray<'py>> {
    let py = obj.py();
    let mut arr = as_ndarray(obj)?;
    let shape = arr.shape().to_vec();
    if shape.len() < 2 {
        return Err(PyValueError::new_err(format!(
            "{what}: features must be a 2-D array (samples x features), got shape {}",
            shape_text(&shape)
        )));
    }
    if shape.len() > 2 {
        let cols: usize = shape[1..].iter().product();
        arr = arr
            .call_method1("reshape", ((shape[0], cols),))?
            .cast_into::<PyUntypedArray>()?;
    }
    let dtype = arr.dtype();
    let kind = dtype.kind();
    let native_float =
        dtype.is_equiv_to(&numpy::dtype::<f32>(py)) || dtype.is_equiv_to(&numpy::dtype::<f64>(py));
    if !native_float {
        let target = match kind {
            b'f' if dtype.itemsize() <= 4 => "float32",
            b'f' | b'i' | b'u' | b'b' => "float64",
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "{what}: features must be real numbers (float32 or float64), got dtype {}",
                    dtype.str()?
                )))
            }
        };
        arr = arr
            .call_method1("astype", (target,))?
            .cast_into::<PyUntypedArray>()?;
    }
    let itemsize = arr.dtype().itemsize() as isize;
    let viewable = arr.is_aligned() && arr.strides().iter().all(|s| s % itemsize == 0);
    if !viewable {
        arr = numpy(py)?
            .call_method1("ascontiguousarray", (&arr,))?
            .cast_into::<PyUntypedArray>()?;
    }
    if let Ok(a) = arr.cast::<PyArray2<f32>>() {
        return Ok(FeatureArray::F32(a.try_readonly().map_err(borrow_error)?));
    }
    if let Ok(a) = arr.cast::<PyArray2<f64>>() {
        return Ok(FeatureArray::F64(a.try_readonly().map_err(borrow_error)?));
    }
    Err(PyTypeError::new_err(format!(
        "{what}: could not read features of dtype {} as float32 or float64",
        arr.dtype().str()?
    )))
}

fn borrow_error(e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!("array is being written by Rust code: {e}"))
}

fn read_ints<'py, T: Element + Copy>(
    arr: &Bound<'py, PyUntypedArray>,
    convert: impl Fn(T) -> Option<i64>,
    what: &str,
) -> PyResult<Option<Vec<i64>>> {
    let Ok(a) = arr.cast::<PyArray1<T>>() else {
        return Ok(None);
    };
    let ro = a.try_readonly().map_err(borrow_error)?;
    let view: ArrayView1<'_, T> = ro.as_array();
    let mut out = Vec::with_capacity(view.len());
    for (row, &v) in view.iter().enumerate() {
        match convert(v) {
            Some(x) => out.push(x),
            None => {
                return Err(PyValueError::new_err(format!(
                    "{what}: label at row {row} does not fit in a 64-bit signed integer"
                )))
            }
        }
    }
    Ok(Some(out))
}

/// Reads a 1-D array of any integer dtype as `i64` (copied; labels are small).
pub fn labels(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<i64>> {
    let arr = as_ndarray(obj)?;
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "{what}: labels must be a 1-D integer array, got shape {}",
            shape_text(arr.shape())
        )));
    }
    let kind = arr.dtype().kind();
    if kind != b'i' && kind != b'u' {
        return Err(PyTypeError::new_err(format!(
            "{what}: labels must have an integer dtype, got {}",
            arr.dtype().str()?
        )));
    }
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if let Some(v) = read_ints::<$t>(&arr, |x| i64::try_from(x).ok(), what)? {
                return Ok(v);
            }
        )*};
    }
    try_types!(i64, i32, u8, i8, i16, u16, u32, u64);
    // Byte-swapped or otherwise non-native integers: convert once.
    let converted = arr.call_method1("astype", ("int64",))?;
    labels(&converted, what)
}

/// Labels as `usize` for the streaming accumulator (negative values rejected, naming the row).
pub fn labels_usize(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<usize>> {
    labels(obj, what)?
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            usize::try_from(v).map_err(|_| {
                crate::errors::geometry_error(
                    layerlaw_geometry::GeometryError::NegativeLabel { row, value: v },
                    Some(what),
                )
            })
        })
        .collect()
}

/// A small dense matrix argument (classifier weights) copied to row-major `f64`.
pub fn dense_f64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f64>, usize, usize)> {
    let arr = features(obj, what)?;
    let view = arr.view();
    let (r, c) = (view.nrows(), view.ncols());
    let mut out = Vec::with_capacity(r * c);
    with_features!(view, |m| {
        for i in 0..r {
            for j in 0..c {
                out.push(m[(i, j)].to_f64());
            }
        }
    });
    Ok((out, r, c))
}

/// A 1-D float argument (bias, fuzziness values) copied to `f64`.
pub fn vector_f64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    let arr = as_ndarray(obj)?;
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "{what} must be a 1-D array, got shape {}",
            shape_text(arr.shape())
        )));
    }
    let kind = arr.dtype().kind();
    if !matches!(kind, b'f' | b'i' | b'u' | b'b') {
        return Err(PyTypeError::new_err(format!(
            "{what} must hold real numbers, got dtype {}",
            arr.dtype().str()?
        )));
    }
    let f = arr.call_method1("astype", ("float64",))?;
    let a = f.cast::<PyArray1<f64>>()?;
    Ok(a.try_readonly().map_err(borrow_error)?.as_array().to_vec())
}

/// A row-major `f64` matrix as a new NumPy array of shape (rows, cols).
pub fn matrix_to_numpy<'py>(py: Python<'py>, m: MatRef<'_, f64>) -> PyResult<Bound<'py, PyAny>> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut data = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            data.push(m[(i, j)]);
        }
    }
    PyArray1::from_vec(py, data)
        .reshape([r, c])
        .map(Bound::into_any)
}

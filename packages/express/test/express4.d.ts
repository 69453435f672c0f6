// express4 is `npm:express@^4`, installed to test both majors; its API is typed like express's.
declare module 'express4' {
  import express from 'express'
  export default express
}
